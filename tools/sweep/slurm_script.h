#pragma once
// The sbatch script that runs a sweep's points as a Slurm job array: one array task per point,
// each `polyphony sweep SWEEP.toml --out DIR --task $SLURM_ARRAY_TASK_ID`, so the points land in
// the same sweep directory as a local sweep's and `polyphony report` reads them alike.

#include <filesystem>
#include <string>
#include <vector>

#include "tools/sweep/sweep_plan.h"

namespace polyphony::cli {

struct SlurmOptions {
  std::string partition;
  std::string time = "04:00:00";  // per task
  std::string gres;               // such as gpu:1
  std::string account;
  std::string memory;  // such as 32G
  int cpus_per_task = 4;
  int max_parallel = 0;            // tasks running at once (sbatch --array=...%N); 0: no limit
  std::vector<std::string> extra;  // further #SBATCH options, as written after #SBATCH
  bool tensorboard = false;        // the tasks run with --tensorboard
  std::string mlflow_uri, mlflow_experiment;  // the tasks log to MLflow (empty: not)
};

// The script's text. `executable` is the polyphony binary the tasks run, `settings` the sweep
// command's --set options (passed on to every task).
std::string slurm_array_script(const SweepPlan& plan, const std::filesystem::path& sweep_dir,
                               const std::string& executable,
                               const std::vector<std::string>& settings,
                               const SlurmOptions& options);

// `word` quoted for the shell (single quotes; an embedded quote as '\'').
std::string shell_quoted(const std::string& word);

}  // namespace polyphony::cli
