#include "tools/slurm_script.h"

#include <fmt/format.h>

namespace polyphony::cli {

std::string shell_quoted(const std::string& word) {
  std::string out = "'";
  for (const char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string slurm_array_script(const SweepPlan& plan, const std::filesystem::path& sweep_dir,
                               const std::string& executable,
                               const std::vector<std::string>& settings,
                               const SlurmOptions& options) {
  const std::string logs = (sweep_dir / "logs").string();
  std::string out = fmt::format(
      "#!/bin/bash\n"
      "# Polyphony sweep '{}' ({}): {} points, one Slurm array task each.\n"
      "# Submit with: sbatch {}\n"
      "# Each task trains its point into {}/points/ID (resuming it when a task is requeued);\n"
      "# `polyphony sweep {} --out {} --status` shows progress, `polyphony report {}` the "
      "results.\n"
      "#SBATCH --job-name={}\n"
      "#SBATCH --array=0-{}{}\n"
      "#SBATCH --output={}/slurm-%A_%a.out\n"
      "#SBATCH --cpus-per-task={}\n",
      plan.name, plan.file.string(), plan.points.size(), (sweep_dir / "sweep.sbatch").string(),
      sweep_dir.string(), plan.file.string(), sweep_dir.string(), sweep_dir.string(),
      "polyphony-" + id_text(plan.name), plan.points.size() - 1,
      options.max_parallel > 0 ? fmt::format("%{}", options.max_parallel) : "", logs,
      options.cpus_per_task);
  if (!options.time.empty()) out += fmt::format("#SBATCH --time={}\n", options.time);
  if (!options.partition.empty()) out += fmt::format("#SBATCH --partition={}\n", options.partition);
  if (!options.gres.empty()) out += fmt::format("#SBATCH --gres={}\n", options.gres);
  if (!options.account.empty()) out += fmt::format("#SBATCH --account={}\n", options.account);
  if (!options.memory.empty()) out += fmt::format("#SBATCH --mem={}\n", options.memory);
  for (const auto& extra : options.extra) out += fmt::format("#SBATCH {}\n", extra);
  out += "set -euo pipefail\n";
  out += fmt::format("exec {} sweep {} --out {} --threads \"${{SLURM_CPUS_PER_TASK:-{}}}\"",
                     shell_quoted(executable), shell_quoted(plan.file.string()),
                     shell_quoted(sweep_dir.string()), options.cpus_per_task);
  for (const auto& s : settings) out += " --set " + shell_quoted(s);
  if (options.tensorboard) out += " --tensorboard";
  if (!options.mlflow_uri.empty())
    out += " --mlflow " + shell_quoted(options.mlflow_uri) + " --mlflow-experiment " +
           shell_quoted(options.mlflow_experiment);
  out +=
      " --task \"${SLURM_ARRAY_TASK_ID:?run this script with sbatch, or set "
      "SLURM_ARRAY_TASK_ID}\"\n";
  return out;
}

}  // namespace polyphony::cli
