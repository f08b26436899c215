#pragma once
// The sbatch script that runs a sweep's points as a Slurm job array: one array task per point,
// each `polyphony sweep SWEEP.toml --out DIR --task $SLURM_ARRAY_TASK_ID`, so the points land in
// the same sweep directory as a local sweep's and `polyphony report` reads them alike.

#include <filesystem>
#include <string>
#include <vector>

#include "tools/sweep/sweep_plan.h"

namespace cxxopts {
class Options;
class ParseResult;
}  // namespace cxxopts

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

// One sbatch script: a job array (array_tasks > 0) or a single task, running `command`.
struct SlurmJob {
  std::string name;                 // --job-name
  std::string what;                 // what the script runs, for errors ("the sweep")
  std::vector<std::string> header;  // comment lines after #!/bin/bash
  size_t array_tasks = 0;           // 0: one task, no array
  std::filesystem::path directory;  // its logs go to DIRECTORY/logs/slurm-*.out
  std::string directory_option;     // the option that named it, for errors
  std::string command;              // exec'ed by the task: already quoted for the shell
};

// The script's text. Every value is checked: none may start a line of its own, and each
// option's value must have the syntax sbatch(1) gives for it. An Error names the option.
std::string slurm_script(const SlurmJob& job, const SlurmOptions& options);

// The script's text for a sweep. `executable` is the polyphony binary the tasks run, `settings` the
// sweep command's --set options (passed on to every task).
std::string slurm_array_script(const SweepPlan& plan, const std::filesystem::path& sweep_dir,
                               const std::string& executable,
                               const std::vector<std::string>& settings,
                               const SlurmOptions& options);

// The --slurm-* options that sweep and tune share (partition, time, gres, cpus, mem, account,
// max-parallel; --slurm-option lines are taken out before parsing, as they may hold commas).
void add_slurm_options(cxxopts::Options& spec);
SlurmOptions read_slurm_options(const cxxopts::ParseResult& parsed,
                                const std::vector<std::string>& extra_lines);

// `word` quoted for the shell (single quotes; an embedded quote as '\'').
std::string shell_quoted(const std::string& word);

}  // namespace polyphony::cli
