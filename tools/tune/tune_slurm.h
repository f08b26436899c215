#pragma once
// A tune study on a Slurm cluster: a job array of workers (one `polyphony tune --worker K` per
// task, all sharing the study through its storage on a shared filesystem, or a database), and a
// job that runs after the array and trains the chosen trials over the final seeds.
//
//   jobid=$(sbatch --parsable TUNE_DIR/tune.sbatch)
//   sbatch --dependency=afterany:$jobid TUNE_DIR/tune-final.sbatch
//
// A requeued or restarted worker adopts the trial it left and resumes its run; the final job
// also finishes any trial a worker left.

#include <string>
#include <vector>

#include "tools/sweep/slurm_script.h"
#include "tools/tune/tune_study.h"

namespace polyphony::cli {

struct TuneSlurmScripts {
  std::string workers;     // TUNE_DIR/tune.sbatch
  std::string final_runs;  // TUNE_DIR/tune-final.sbatch
};

// The two scripts' text: `workers` array tasks running `executable` on the study with the
// tune command's --set `settings` and --python `python` (empty: the default). Every value is
// checked as slurm_script checks it.
TuneSlurmScripts tune_slurm_scripts(const TuneStudy& study, const std::string& executable,
                                    const std::vector<std::string>& settings,
                                    const std::string& python, int workers,
                                    const SlurmOptions& options);

}  // namespace polyphony::cli
