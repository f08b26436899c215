#pragma once
// A tune study on disk (tools/tune/tune_file.h says what the file asks for):
//
//   TUNE_DIR/tune.json                    the study: base, objectives, space, settings, storage
//   TUNE_DIR/study.journal                Optuna's storage (unless --storage names another)
//   TUNE_DIR/trials/N/trial.json          trial N: its values, state and objective values
//   TUNE_DIR/trials/N/seed=S/             an ordinary run directory per seed
//   TUNE_DIR/logs/trial=N,seed=S.log      what the trial's runs printed
//   TUNE_DIR/final/                       a sweep directory: the chosen trials over final_seeds
//
// Optuna's storage decides what is asked and when to prune; trial.json mirrors each trial's
// outcome beside its runs, so `polyphony report` needs no Python.

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/sweep/sweep_plan.h"
#include "tools/tune/optuna_bridge.h"
#include "tools/tune/tune_file.h"

namespace polyphony::cli {

class ConfigurationExpander;

struct TuneStudy {
  TuneFile file;  // its seeds resolved (the base config's when it lists none), final_seeds too
  std::vector<std::string> settings;  // of every trial: [set], then --set
  std::filesystem::path directory;    // absolute
  std::string storage;                // a journal file or a database URL
  std::string study_name;             // in the storage: the tune file's stem

  std::filesystem::path trial_directory(int64_t number) const;
  std::filesystem::path run_directory(int64_t number, uint64_t seed) const;
  std::filesystem::path run_log(int64_t number, uint64_t seed) const;
  std::filesystem::path final_directory() const { return directory / "final"; }
  // What worker `worker` asks Optuna for (its sampler seed is the file's plus `worker`).
  OptunaStudy optuna(uint64_t worker) const;
  // The arguments of `polyphony train` for a trial's values (key -> value text) and seed.
  std::vector<std::string> trial_arguments(ConfigurationExpander& expander,
                                           const std::map<std::string, std::string>& values,
                                           uint64_t seed, int64_t number) const;
  nlohmann::json to_json() const;
};

// Reads `file` with `settings` (--set) for the directory `directory` and the storage `storage`
// (empty: DIR/study.journal, or the one the directory already uses). A directory started from
// another study (other base config or its contents since edited, objectives, space, settings or
// seeds) is refused, naming what changed; tune.json is written.
TuneStudy open_tune_study(const std::filesystem::path& file, const std::filesystem::path& directory,
                          const std::vector<std::string>& settings, const std::string& storage);

// A trial as trial.json records it.
struct TrialRecord {
  int64_t number = 0;
  std::string state;                                 // running, complete, pruned, failed
  std::map<std::string, std::string> values;         // space key -> value text
  std::vector<double> objectives;                    // complete: one per objective, mean over seeds
  std::map<std::string, std::vector<double>> seeds;  // seed -> its objective values
  int64_t last_epoch = 0;  // the last validated epoch of its first seed (where a pruned one ended)
  std::string error;       // failed: why
};

nlohmann::json trial_json(const TrialRecord& record);
void write_trial_record(const TuneStudy& study, const TrialRecord& record);
// Every trial.json under TUNE_DIR/trials, by number; a damaged one is an Error naming it.
std::vector<TrialRecord> read_trial_records(const std::filesystem::path& directory);

// The complete trials the final runs retrain: one objective, the best (the lower number on a
// tie); several, the Pareto front's trials, at most `final_trials` (default 10) spread along it.
std::vector<TrialRecord> chosen_trials(const std::vector<TrialRecord>& records,
                                       const std::vector<TuneObjective>& objectives,
                                       int64_t final_trials);

// Whether each complete trial of `records` is on the Pareto front of `objectives`.
std::vector<bool> pareto_front_of(const std::vector<TrialRecord>& records,
                                  const std::vector<TuneObjective>& objectives);

// The final runs as a sweep: a point per chosen trial and final seed (id trial=N,seed=S), the
// trial's values as its axes.
SweepPlan final_plan(const TuneStudy& study, const std::vector<TrialRecord>& chosen);

// The objective values of a finished run: each metric's validation value at the epoch the run
// kept (summary.json's best_epoch; the last validated epoch when none was better). An Error names
// the run and the metrics it has when one is missing.
std::vector<double> run_objective_values(const std::filesystem::path& run,
                                         const std::vector<TuneObjective>& objectives);

}  // namespace polyphony::cli
