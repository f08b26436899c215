#include "tools/tune/tune_slurm.h"

#include <fmt/format.h>

namespace polyphony::cli {

TuneSlurmScripts tune_slurm_scripts(const TuneStudy& study, const std::string& executable,
                                    const std::vector<std::string>& settings,
                                    const std::string& python, int workers,
                                    const SlurmOptions& options) {
  const std::string dir = study.directory.string();
  // What both jobs run: this study, in this directory, with this storage.
  std::string common = fmt::format("{} tune {} --out {} --storage {}", shell_quoted(executable),
                                   shell_quoted(study.file.file.string()), shell_quoted(dir),
                                   shell_quoted(study.storage));
  for (const auto& s : settings) common += " --set " + shell_quoted(s);
  if (!python.empty()) common += " --python " + shell_quoted(python);
  common += fmt::format(" --threads \"${{SLURM_CPUS_PER_TASK:-{}}}\"", options.cpus_per_task);
  const std::string submit = fmt::format(
      "jobid=$(sbatch --parsable {}/tune.sbatch) && sbatch --dependency=afterany:"
      "$jobid {}/tune-final.sbatch",
      dir, dir);
  SlurmJob job;
  job.name = "polyphony-tune-" + id_text(study.file.name);
  job.what = "the tune study";
  job.directory = study.directory;
  job.directory_option = "the tune directory (--out)";
  job.array_tasks = static_cast<size_t>(workers);
  job.header = {
      fmt::format("Polyphony tune '{}' ({}): {} trials, {} workers sharing the study in {}.",
                  study.file.name, study.file.file.string(), study.file.trials, workers,
                  study.storage),
      "Submit with the final runs after it:", "  " + submit,
      fmt::format("`polyphony tune {} --out {} --status` shows the trials.",
                  study.file.file.string(), dir)};
  job.command = common +
                " --worker \"${SLURM_ARRAY_TASK_ID:?run this script with sbatch, or set "
                "SLURM_ARRAY_TASK_ID}\"";
  TuneSlurmScripts scripts;
  scripts.workers = slurm_script(job, options);
  job.name += "-final";
  job.array_tasks = 0;
  job.header = {
      fmt::format("Polyphony tune '{}': after the workers (sbatch --dependency=afterany:JOBID), "
                  "finishes any trial left",
                  study.file.name),
      fmt::format("and trains the chosen trials over the final seeds; then `polyphony report {}`.",
                  dir)};
  job.command = common + " --jobs 1";
  scripts.final_runs = slurm_script(job, options);
  return scripts;
}

}  // namespace polyphony::cli
