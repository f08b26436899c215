#pragma once
// Optuna, asked from C++: a Python process running tools/tune/optuna_bridge.py (built into the
// binary), one JSON request and reply per line over pipes. Optuna chooses every trial's values
// (TPE, NSGA-II, random), decides pruning from the reported validation curve, and keeps the study
// in its own storage, which many workers share.

#include <sys/types.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace polyphony::cli {

struct OptunaStudy {
  std::string storage;  // a journal file, or a database URL (sqlite:///..., postgresql://...)
  std::string name;     // the study's name in the storage
  std::vector<std::string> directions;  // "maximize" / "minimize", one per objective
  std::string sampler;                  // tpe, nsga2, random
  uint64_t seed = 0;
  std::string pruner;  // median, none
  int64_t startup_trials = 5, warmup_epochs = 0;
  nlohmann::json space;  // tools/tune/tune_file.h space_json
  int64_t trials = 0;    // no trial is asked beyond this many in the study
  nlohmann::json attributes = nlohmann::json::object();  // the study's user attributes
};

struct AskedTrial {
  int64_t number = 0;
  nlohmann::json params;       // key -> value
  std::vector<int64_t> steps;  // epochs already reported (a trial adopted from another worker)
};

// The Python interpreter that runs the bridge: `given` when not empty, else $POLYPHONY_PYTHON,
// else the project venv's Python the build found, else python3 on PATH.
std::string bridge_python(const std::string& given);

class OptunaBridge {
 public:
  // Starts `python` on the bridge and opens (or creates) `study`; its messages go to `log`. An
  // Error when Python or Optuna is missing, or the storage holds a study of other objectives.
  OptunaBridge(const std::string& python, const OptunaStudy& study,
               const std::filesystem::path& log);
  ~OptunaBridge();
  OptunaBridge(const OptunaBridge&) = delete;
  OptunaBridge& operator=(const OptunaBridge&) = delete;

  const std::string& optuna_version() const { return version_; }
  // A new trial with its values, or nothing when the study already holds its number of trials.
  std::optional<AskedTrial> ask();
  // The study's trials in the running state (any worker's).
  std::vector<AskedTrial> running();
  // Reports a trial's validation value at `step`; true when Optuna prunes it.
  bool report(int64_t trial, int64_t step, double value);
  void tell_values(int64_t trial, const std::vector<double>& values);
  void tell_pruned(int64_t trial);
  void tell_failed(int64_t trial);

 private:
  nlohmann::json request(const nlohmann::json& message);

  pid_t pid_ = -1;
  FILE* to_ = nullptr;
  FILE* from_ = nullptr;
  std::filesystem::path log_;
  std::string version_;
};

}  // namespace polyphony::cli
