#pragma once
// A tune file: a search over run settings by Optuna (tools/tune/optuna_bridge.h), written like a
// sweep file (tools/sweep/sweep_plan.h) with a search space instead of axes:
//
//   [tune]
//   base = "../protomf-demo.toml"     # relative to the tune file
//   trials = 50                       # the study stops asking after this many trials
//   objectives = ["NDCG@10"]          # validation metrics; two or more: a Pareto front
//   sampler = "tpe"                   # tpe, nsga2 (NSGA-II) or random
//   pruner = "median"                 # median or none; single objective only
//   seeds = 1                         # seeds per trial (a count or a list): the objective is
//                                     # their mean
//   final_seeds = 3                   # the chosen trials trained again with these seeds, and
//                                     # tested (`polyphony report`)
//   final_baseline = "../base.toml"   # optional: a run config trained over the same seeds, which
//                                     # the report's paired tests compare the chosen trials with
//   [set]                             # every trial: SECTION.KEY = VALUE, as --set
//   train.epochs = 10
//   [space]
//   train.lr = { low = 1e-4, high = 0.1, log = true }   # a float, log-uniform
//   model.ortho = { low = 0.0, high = 1.0 }             # a float, uniform
//   model.dim = { low = 16, high = 128, step = 16 }     # an integer (integer bounds)
//   model.k_filter = { choices = ["~", "8,8", "16,16"] } # categorical ("~": unset)
//
// Every trial is an ordinary run per seed; the objective is each seed's validation value of the
// metric at the epoch the run kept (summary.json's best_epoch), so the test split stays unseen
// until the final runs.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/sweep/sweep_file.h"

namespace polyphony::cli {

// The most trials a tune file may ask for.
inline constexpr int64_t kMaxTrials = 10000;

struct TuneObjective {
  std::string metric;    // a validation metric, such as NDCG@10 or ARP@10
  bool maximize = true;  // set by open_tune_study (the report's direction of the metric)
};

enum class SpaceKind { kFloat, kInt, kCategorical };

struct SpaceDimension {
  std::string key;  // SECTION.KEY
  SpaceKind kind = SpaceKind::kFloat;
  double low = 0, high = 0;  // kFloat, kInt
  bool log = false;
  double step = 0;                   // 0: continuous (kFloat), 1 (kInt)
  std::vector<std::string> choices;  // kCategorical, as command-line text ("~": unset)
  std::string where;
};

struct TuneFile {
  std::filesystem::path file;  // absolute
  std::string name;            // its stem
  std::filesystem::path base;
  int64_t trials = 0;
  std::vector<TuneObjective> objectives;
  std::string sampler = "tpe";  // tpe, nsga2, random
  std::string pruner = "median";
  int64_t pruner_startup_trials = 5;     // trials before the median pruner prunes
  int64_t pruner_warmup_epochs = 0;      // epochs (by number) never pruned; 0: from the first
  uint64_t sampler_seed = 0;             // each worker adds its number
  std::vector<uint64_t> seeds;           // empty: the base config's
  std::vector<uint64_t> final_seeds;     // empty: 1, 2, 3 (open_tune_study)
  int64_t final_trials = 0;              // 0: 1 for one objective, up to 10 of a Pareto front
  std::filesystem::path final_baseline;  // empty: none
  std::vector<SweepSetting> settings;
  std::vector<SpaceDimension> space;  // in the file's order
};

// Reads `file` as written, knowing nothing of the options (so that its fuzz target can read any
// bytes): an unknown table or key, a malformed dimension, an empty space, pruning of a
// multi-objective study, an unknown sampler or pruner are Errors naming the file and line.
// open_tune_study (tools/tune/tune_study.h) checks the values against the options.
TuneFile read_tune_file(const std::filesystem::path& file);

// The search space as the Optuna bridge reads it: [{key, kind, low, high, log, step, choices}].
nlohmann::json space_json(const std::vector<SpaceDimension>& space);

// The setting (as --set takes it) of a trial's value for `dimension`: a number as Optuna gave it
// (an integer dimension without a fraction), a choice as written ("~": the removal ~KEY).
std::string trial_setting(const SpaceDimension& dimension, const nlohmann::json& value);

// The value as command-line text (0.0031, 64, 8,8, ~).
std::string trial_value_text(const SpaceDimension& dimension, const nlohmann::json& value);

}  // namespace polyphony::cli
