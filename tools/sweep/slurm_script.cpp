#include "tools/sweep/slurm_script.h"

#include <regex>

#include <fmt/format.h>
#include <cxxopts.hpp>

#include "common/error.h"

namespace polyphony::cli {
namespace {

// `value` with control characters as escapes, so that an error message stays one line.
std::string printable(const std::string& value) {
  std::string out;
  for (const char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '\n')
      out += "\\n";
    else if (byte < 0x20 || byte == 0x7f)
      out += fmt::format("\\x{:02x}", byte);
    else
      out += c;
  }
  return out;
}

bool has_control_character(const std::string& value) {
  for (const char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) return true;
  }
  return false;
}

// Every value the script holds: a control character (a newline above all) could start a line of
// its own, which bash would run.
void refuse_control_characters(const std::string& value, const std::string& what) {
  if (has_control_character(value))
    fail("{} '{}': a control character cannot go into a Slurm script", what, printable(value));
}

// A value of an #SBATCH line, in the syntax sbatch(1) gives for the option. sbatch splits these
// lines at whitespace, so no value may hold any.
void check_sbatch_value(const std::string& value, const std::string& what, const char* pattern,
                        const char* expected) {
  refuse_control_characters(value, what);
  if (!std::regex_match(value, std::regex(pattern)))
    fail("{} '{}': expected {}", what, printable(value), expected);
}

// The options the script can set with their syntax in sbatch(1); an --slurm-option naming one
// (--mem=...) is checked the same way.
struct SbatchSyntax {
  const char* option;
  const char* pattern;
  const char* expected;
};
const SbatchSyntax kSyntax[] = {
    {"partition", "[A-Za-z0-9_.+-]+(,[A-Za-z0-9_.+-]+)*",
     "a partition name or a comma list of them (letters, digits, . _ + -)"},
    {"time", "[0-9]+(:[0-9]{1,2}){0,2}|[0-9]+-[0-9]+(:[0-9]{1,2}){0,2}|UNLIMITED|INFINITE",
     "minutes, minutes:seconds, hours:minutes:seconds, days-hours, days-hours:minutes or "
     "days-hours:minutes:seconds"},
    {"gres", "[A-Za-z0-9_.+-]+(:[A-Za-z0-9_.+-]+)*(,[A-Za-z0-9_.+-]+(:[A-Za-z0-9_.+-]+)*)*",
     "NAME[[:TYPE]:COUNT] or a comma list of them, such as gpu:1 or gpu:a100:2"},
    {"account", "[A-Za-z0-9_.+-]+", "an account name (letters, digits, . _ + -)"},
    {"mem", "[0-9]+[KMGTkmgt]?", "a size in megabytes, or with a unit K, M, G or T, such as 32G"},
    {"cpus-per-task", "[1-9][0-9]*", "a positive number of CPUs"},
};

void check_option_value(const char* option, const std::string& value, const std::string& what) {
  for (const auto& syntax : kSyntax)
    if (std::string(option) == syntax.option) {
      check_sbatch_value(value, what, syntax.pattern, syntax.expected);
      return;
    }
}

void check_slurm_options(const SlurmOptions& o) {
  if (!o.partition.empty()) check_option_value("partition", o.partition, "--slurm-partition");
  check_option_value("time", o.time, "--slurm-time");
  if (!o.gres.empty()) check_option_value("gres", o.gres, "--slurm-gres");
  if (!o.account.empty()) check_option_value("account", o.account, "--slurm-account");
  if (!o.memory.empty()) check_option_value("mem", o.memory, "--slurm-mem");
  for (const auto& extra : o.extra) {
    // Other options' values are not known here: no whitespace (sbatch splits there), quotes,
    // backslashes, # or shell syntax.
    check_sbatch_value(extra, "--slurm-option", "--[a-z][a-z0-9-]*(=[^\\s'\"\\\\#;$`<>]+)?",
                       "--NAME or --NAME=VALUE as sbatch takes it (no whitespace, quotes, "
                       "backslashes, # ; $ ` < >), such as --qos=long");
    const auto equals = extra.find('=');
    const std::string option =
        extra.substr(2, equals == std::string::npos ? extra.npos : equals - 2);
    if (option == "array")
      fail("--slurm-option '{}': the script sets the array itself (one task per point)", extra);
    if (equals != std::string::npos)
      check_option_value(option.c_str(), extra.substr(equals + 1), "--slurm-option " + extra);
  }
}

}  // namespace

void add_slurm_options(cxxopts::Options& spec) {
  spec.add_options("Slurm (with --emit slurm)")("slurm-partition", "sbatch --partition",
                                                cxxopts::value<std::string>())(
      "slurm-time", "sbatch --time per task",
      cxxopts::value<std::string>()->default_value("04:00:00"))(
      "slurm-gres", "sbatch --gres, such as gpu:1", cxxopts::value<std::string>())(
      "slurm-cpus", "sbatch --cpus-per-task", cxxopts::value<int>()->default_value("4"))(
      "slurm-mem", "sbatch --mem, such as 32G", cxxopts::value<std::string>())(
      "slurm-account", "sbatch --account", cxxopts::value<std::string>())(
      "slurm-max-parallel", "array tasks running at once (0: no limit)",
      cxxopts::value<int>()->default_value("0"))(
      "slurm-option", "a further #SBATCH line, such as '--qos=long' (repeatable)",
      cxxopts::value<std::vector<std::string>>());
}

SlurmOptions read_slurm_options(const cxxopts::ParseResult& parsed,
                                const std::vector<std::string>& extra_lines) {
  SlurmOptions slurm;
  if (parsed.count("slurm-partition"))
    slurm.partition = parsed["slurm-partition"].as<std::string>();
  slurm.time = parsed["slurm-time"].as<std::string>();
  if (parsed.count("slurm-gres")) slurm.gres = parsed["slurm-gres"].as<std::string>();
  if (parsed.count("slurm-mem")) slurm.memory = parsed["slurm-mem"].as<std::string>();
  if (parsed.count("slurm-account")) slurm.account = parsed["slurm-account"].as<std::string>();
  slurm.cpus_per_task = parsed["slurm-cpus"].as<int>();
  slurm.max_parallel = parsed["slurm-max-parallel"].as<int>();
  if (slurm.cpus_per_task < 1) fail("--slurm-cpus {}: at least 1", slurm.cpus_per_task);
  if (slurm.max_parallel < 0) fail("--slurm-max-parallel {}: 0 or more", slurm.max_parallel);
  slurm.extra = extra_lines;
  return slurm;
}

std::string shell_quoted(const std::string& word) {
  std::string out = "'";
  for (const char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string slurm_script(const SlurmJob& job, const SlurmOptions& options) {
  check_slurm_options(options);
  // The directory also lands in #SBATCH --output, which sbatch would split at whitespace.
  check_sbatch_value(job.directory.string(), job.directory_option, "[^\\s]+",
                     "a path without whitespace (it goes into #SBATCH --output)");
  for (const auto& line : job.header) refuse_control_characters(line, job.what);
  refuse_control_characters(job.command, job.what);
  std::string out = "#!/bin/bash\n";
  for (const auto& line : job.header) out += "# " + line + "\n";
  out += fmt::format("#SBATCH --job-name={}\n", job.name);
  if (job.array_tasks > 0)
    out += fmt::format("#SBATCH --array=0-{}{}\n", job.array_tasks - 1,
                       options.max_parallel > 0 ? fmt::format("%{}", options.max_parallel) : "");
  out += fmt::format("#SBATCH --output={}/slurm-{}.out\n", (job.directory / "logs").string(),
                     job.array_tasks > 0 ? "%A_%a" : "%j");
  out += fmt::format("#SBATCH --cpus-per-task={}\n", options.cpus_per_task);
  if (!options.time.empty()) out += fmt::format("#SBATCH --time={}\n", options.time);
  if (!options.partition.empty()) out += fmt::format("#SBATCH --partition={}\n", options.partition);
  if (!options.gres.empty()) out += fmt::format("#SBATCH --gres={}\n", options.gres);
  if (!options.account.empty()) out += fmt::format("#SBATCH --account={}\n", options.account);
  if (!options.memory.empty()) out += fmt::format("#SBATCH --mem={}\n", options.memory);
  for (const auto& extra : options.extra) out += fmt::format("#SBATCH {}\n", extra);
  out += "set -euo pipefail\n";
  return out + "exec " + job.command + "\n";
}

std::string slurm_array_script(const SweepPlan& plan, const std::filesystem::path& sweep_dir,
                               const std::string& executable,
                               const std::vector<std::string>& settings,
                               const SlurmOptions& options) {
  refuse_control_characters(plan.file.string(), "the sweep file");
  refuse_control_characters(executable, "the polyphony executable");
  for (const auto& s : settings) refuse_control_characters(s, "--set");
  refuse_control_characters(options.mlflow_uri, "--mlflow");
  refuse_control_characters(options.mlflow_experiment, "--mlflow-experiment");
  SlurmJob job;
  job.name = "polyphony-" + id_text(plan.name);
  job.what = "the sweep";
  job.directory = sweep_dir;
  job.directory_option = "the sweep directory (--out)";
  job.array_tasks = plan.points.size();
  job.header = {
      fmt::format("Polyphony sweep '{}' ({}): {} points, one Slurm array task each.", plan.name,
                  plan.file.string(), plan.points.size()),
      fmt::format("Submit with: sbatch {}", (sweep_dir / "sweep.sbatch").string()),
      fmt::format("Each task trains its point into {}/points/ID (resuming it when a task is "
                  "requeued);",
                  sweep_dir.string()),
      fmt::format("`polyphony sweep {} --out {} --status` shows progress, `polyphony report {}` "
                  "the results.",
                  plan.file.string(), sweep_dir.string(), sweep_dir.string())};
  job.command = fmt::format("{} sweep {} --out {} --threads \"${{SLURM_CPUS_PER_TASK:-{}}}\"",
                            shell_quoted(executable), shell_quoted(plan.file.string()),
                            shell_quoted(sweep_dir.string()), options.cpus_per_task);
  for (const auto& s : settings) job.command += " --set " + shell_quoted(s);
  if (options.tensorboard) job.command += " --tensorboard";
  if (!options.mlflow_uri.empty())
    job.command += " --mlflow " + shell_quoted(options.mlflow_uri) + " --mlflow-experiment " +
                   shell_quoted(options.mlflow_experiment);
  job.command +=
      " --task \"${SLURM_ARRAY_TASK_ID:?run this script with sbatch, or set "
      "SLURM_ARRAY_TASK_ID}\"";
  return slurm_script(job, options);
}

}  // namespace polyphony::cli
