#pragma once
// `train --mlflow URI`: the run on an MLflow tracking server — the resolved config as params,
// every metrics.jsonl line as metrics at its global step, the test metrics, tags (version,
// device, model, run directory, data fingerprint, git commit of the config where known), and at
// the end the run directory's small files and the TorchScript export as artifacts. Everything is
// sent from a background thread (engine/track/mlflow_run.h): a slow or absent server never
// changes or stops the training. RUN/mlflow.json keeps the MLflow run's id, so a resumed
// training logs into the same MLflow run.

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/option.h"

namespace polyphony {
class MlflowRun;
}

namespace polyphony::cli {

struct MlflowSettings {
  std::string tracking_uri;  // empty: no MLflow
  std::string experiment = "polyphony";
  std::string run_name;                                   // default: the run directory's name
  std::vector<std::pair<std::string, std::string>> tags;  // --mlflow-tag KEY=VALUE
  std::string parent_run_id;                              // a sweep's run
  double timeout_seconds = 10;                            // per request
  double wait_seconds = 60;  // at the end, for what the server has not taken yet
};

// The options of MlflowSettings (common/option.h): mlflow, mlflow_experiment, mlflow_run_name,
// mlflow_tag, mlflow_parent, mlflow_timeout, mlflow_wait.
const std::vector<Option<MlflowSettings>>& mlflow_option_list();

// The run's file that names its MLflow run.
inline constexpr const char* kMlflowFile = "mlflow.json";

// The tracking server to log to: `given` (refused, naming `option`, unless http:// or https://),
// or else $MLFLOW_TRACKING_URI when it names a server (MLflow's file stores are left alone); empty:
// none.
std::string mlflow_tracking_uri(const std::string& given, const std::string& option);

// A metric or param name as MLflow accepts it (letters, digits, _ - . / : and spaces):
// "@" becomes "_at_" (NDCG@10 -> NDCG_at_10), a bracket "_" or nothing (Exposure@10[US] ->
// Exposure_at_10_US), anything else "_".
std::string mlflow_name(const std::string& name);

class MlflowLog {
 public:
  // Starts logging (the run is created or, for a resume, found on the server in the
  // background). `tags`: what the command knows besides the settings' own.
  MlflowLog(const std::filesystem::path& run, const MlflowSettings& settings,
            const nlohmann::json& config, std::vector<std::pair<std::string, std::string>> tags,
            bool resumed);
  // Waits for the queue (settings.wait_seconds; at most 5 s after a signal or an error), then
  // says what was not sent.
  ~MlflowLog();

  void epoch(const nlohmann::json& epoch_line);
  // The test metrics ("test/NAME"), the artifacts (the run directory's files up to 16 MiB but
  // run.lock and mlflow.json, and `torchscript` when not empty) and the end of the run.
  void finish(int64_t step, const std::map<std::string, double>& test_metrics,
              const std::filesystem::path& torchscript);
  // Stopped by a signal: the MLflow run is KILLED until a resume sets it running again.
  void interrupted();

 private:
  std::filesystem::path run_;
  MlflowSettings settings_;
  std::unique_ptr<MlflowRun> mlflow_;
  bool ended_ = false;
};

// A sweep's own MLflow run, the parent of its points' runs: the one SWEEP_DIR/mlflow.json names
// when it is on this server, else (with `create`) a new one, kept there. Empty, after a warning,
// when the server cannot be reached: the points are then logged without a parent.
std::string sweep_parent_run(const std::filesystem::path& sweep_dir, const MlflowSettings& settings,
                             const std::string& sweep_name, bool create);
// Marks the sweep's run FINISHED or FAILED (a warning when the server cannot be reached).
void end_sweep_parent_run(const MlflowSettings& settings, const std::string& run_id, bool success);

// The commit of the git work tree that holds `path`, when there is one.
std::string git_commit_of(const std::filesystem::path& path);

}  // namespace polyphony::cli
