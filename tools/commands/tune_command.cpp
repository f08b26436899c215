// polyphony tune: a search over run settings with Optuna (tools/tune/tune_file.h has the file),
// by workers on this machine or on a cluster's nodes sharing one study, then the chosen trials
// trained again over seeds and tested.

#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <map>
#include <optional>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <cxxopts.hpp>

#include "common/error.h"
#include "common/option_text.h"
#include "engine/io/atomic_file.h"
#include "tools/commands/commands.h"
#include "tools/options/train_options.h"
#include "tools/run/child_process.h"
#include "tools/run/stop_signals.h"
#include "tools/sweep/sweep_runner.h"
#include "tools/tune/tune_slurm.h"
#include "tools/tune/tune_study.h"
#include "tools/tune/tune_worker.h"

namespace polyphony::cli {
namespace {

namespace fs = std::filesystem;

cxxopts::Options tune_options() {
  cxxopts::Options spec("polyphony tune",
                        "Search run settings with Optuna (TPE, NSGA-II or random; pruning from the "
                        "validation curve), resumably, with workers on this machine or on many "
                        "(Slurm) sharing one study; then train the chosen trials over seeds.");
  spec.add_options()("out", "tune directory (default tunes/NAME, NAME the file's stem)",
                     cxxopts::value<std::string>())(
      "set", "SECTION.KEY=VALUE for every trial, after the file's [set] (repeatable)",
      cxxopts::value<std::vector<std::string>>())(
      "jobs",
      "workers on this machine, each training one trial at a time (with --emit slurm: array "
      "tasks)",
      cxxopts::value<int>()->default_value("1"))(
      "threads", "CPU threads of every run (default: the cores divided among the workers)",
      cxxopts::value<int>())(
      "storage",
      "Optuna's storage: a journal file (default TUNE_DIR/study.journal) or a database URL such "
      "as sqlite:///study.db or postgresql://host/db",
      cxxopts::value<std::string>())(
      "python", "the Python with Optuna (default $POLYPHONY_PYTHON, else the project venv's)",
      cxxopts::value<std::string>())(
      "worker", "run as worker N in this process, and no final runs (what a Slurm task runs)",
      cxxopts::value<int64_t>())("no-final", "search only: do not train the chosen trials")(
      "status", "show each trial's state and objective values, and train nothing")(
      "emit",
      "slurm: write TUNE_DIR/tune.sbatch (--jobs workers as an array) and "
      "TUNE_DIR/tune-final.sbatch, and train nothing",
      cxxopts::value<std::string>())("h,help", "show this help");
  add_slurm_options(spec);
  spec.add_options()("file", "the tune file", cxxopts::value<std::vector<std::string>>());
  spec.parse_positional({"file"});
  spec.positional_help("TUNE.toml");
  return spec;
}

std::string objective_text(const TuneStudy& study, const TrialRecord& r) {
  std::vector<std::string> parts;
  for (size_t i = 0; i < r.objectives.size() && i < study.file.objectives.size(); ++i)
    parts.push_back(fmt::format("{} {:.4g}", study.file.objectives[i].metric, r.objectives[i]));
  return fmt::format("{}", fmt::join(parts, ", "));
}

std::string values_text(const TrialRecord& r) {
  std::vector<std::string> parts;
  for (const auto& [key, value] : r.values) parts.push_back(key + "=" + value);
  return fmt::format("{}", fmt::join(parts, ", "));
}

std::string trial_line(const TuneStudy& study, const TrialRecord& r) {
  if (r.state == "complete")
    return fmt::format("trial {} complete: {} ({})", r.number, objective_text(study, r),
                       values_text(r));
  if (r.state == "pruned")
    return fmt::format("trial {} pruned after epoch {} ({})", r.number, r.last_epoch,
                       values_text(r));
  if (r.state == "failed") return fmt::format("trial {} FAILED: {}", r.number, r.error);
  return fmt::format("trial {} running ({})", r.number, values_text(r));
}

int print_status(const TuneStudy& study) {
  const auto records = read_trial_records(study.directory);
  std::map<std::string, int> counts;
  fmt::print("tune {} in {} (storage {}):\n", study.study_name, study.directory.string(),
             study.storage);
  for (const auto& r : records) {
    ++counts[r.state];
    fmt::print("  {}\n", trial_line(study, r));
  }
  fmt::print("{} of {} trials: {} complete, {} pruned, {} failed, {} running\n", records.size(),
             study.file.trials, counts["complete"], counts["pruned"], counts["failed"],
             counts["running"]);
  return 0;
}

// Workers on this machine: `jobs` processes of `polyphony tune --worker K`, their trials printed
// as they end. Returns 75 when stopped, 2 when a worker could not work, else 0.
int run_workers(const TuneStudy& study, const std::vector<std::string>& worker_arguments,
                int jobs) {
  StopSignals stop;
  const std::string self = self_executable();
  std::map<pid_t, int> workers;
  for (int k = 0; k < jobs; ++k) {
    std::vector<std::string> arguments{self, "tune"};
    arguments.insert(arguments.end(), worker_arguments.begin(), worker_arguments.end());
    arguments.insert(arguments.end(), {"--worker", std::to_string(k)});
    workers[spawn_logged(arguments, study.directory / "logs" / fmt::format("worker-{}.log", k))] =
        k;
  }
  fmt::print("tune {}: {} trials, {} worker{} (logs in {})\n", study.study_name, study.file.trials,
             jobs, jobs == 1 ? "" : "s", (study.directory / "logs").string());
  std::fflush(stdout);
  std::map<int64_t, std::string> shown;  // trial -> the state printed
  bool forwarded = false, broken = false;
  const auto show_new = [&] {
    for (const auto& r : read_trial_records(study.directory)) {
      if (shown[r.number] == r.state) continue;
      shown[r.number] = r.state;
      fmt::print("tune: {}\n", trial_line(study, r));
    }
    std::fflush(stdout);
  };
  while (!workers.empty()) {
    if (StopSignals::received() && !forwarded) {
      for (const auto& [pid, k] : workers) ::kill(pid, SIGTERM);
      forwarded = true;
      fmt::print("tune: {} received; stopping the workers with checkpoints\n",
                 StopSignals::name(StopSignals::received()));
    }
    int status = 0;
    const pid_t done = ::waitpid(-1, &status, WNOHANG);
    if (done > 0 && workers.count(done)) {
      const int k = workers[done];
      workers.erase(done);
      const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      if (code != 0 && code != 1 && code != kInterruptedExitStatus) {
        broken = true;
        const fs::path log = study.directory / "logs" / fmt::format("worker-{}.log", k);
        fmt::print(stderr, "tune: worker {} stopped: {}\n  log: {}\n", k, error_line(log),
                   log.string());
      }
      continue;
    }
    show_new();
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  show_new();
  if (forwarded) return kInterruptedExitStatus;
  return broken ? 2 : 0;
}

// The chosen trials over the final seeds, as a sweep in TUNE_DIR/final.
int train_chosen(const TuneStudy& study, int jobs, int threads) {
  const auto records = read_trial_records(study.directory);
  const auto chosen = chosen_trials(records, study.file.objectives, study.file.final_trials);
  if (chosen.empty())
    fail("no trial of {} completed (see {}), so none can be chosen", study.directory.string(),
         (study.directory / "logs").string());
  for (const auto& r : chosen) fmt::print("tune: chosen {}\n", trial_line(study, r));
  const SweepPlan plan = final_plan(study, chosen);
  const SweepDirectory final_directory(study.final_directory());
  final_directory.check_unchanged(plan);
  final_directory.write_plan(plan);
  SweepRunOptions run;
  run.jobs = jobs;
  run.threads_per_job = threads;
  fmt::print("tune: training the chosen trial{} over seeds {} into {}\n",
             chosen.size() == 1 ? "" : "s", fmt::join(plan.seeds, ", "),
             study.final_directory().string());
  std::fflush(stdout);
  const int status = run_sweep(plan, final_directory, run);
  if (status == 0)
    fmt::print(
        "tune: done; `polyphony report {}` shows the trials and the chosen ones' test "
        "metrics\n",
        study.directory.string());
  return status;
}

// Creates the study once (workers starting together would race to create it, an SQL database's
// tables above all); a missing Optuna shows here.
void create_study(const TuneStudy& study, const std::string& python) {
  const OptunaBridge bridge(bridge_python(python), study.optuna(0),
                            study.directory / "logs" / "optuna-tune.log");
}

// --emit slurm: the workers' array script and the final runs' script; nothing is trained.
int emit_slurm_scripts(const TuneStudy& study, const std::vector<std::string>& settings,
                       const std::string& python, int workers, const SlurmOptions& options) {
  const auto scripts = tune_slurm_scripts(study, fs::read_symlink("/proc/self/exe").string(),
                                          settings, python, workers, options);
  create_study(study, python);
  for (const auto& [name, text] :
       {std::pair<const char*, const std::string&>{"tune.sbatch", scripts.workers},
        {"tune-final.sbatch", scripts.final_runs}}) {
    const fs::path script = study.directory / name;
    write_file_atomically(script, text);
    fs::permissions(script, fs::perms::owner_exec | fs::perms::group_exec, fs::perm_options::add);
  }
  const std::string dir = study.directory.string();
  fmt::print(
      "wrote {}/tune.sbatch ({} workers) and {}/tune-final.sbatch; submit them with:\n"
      "  jobid=$(sbatch --parsable {}/tune.sbatch) && sbatch --dependency=afterany:$jobid "
      "{}/tune-final.sbatch\n",
      dir, workers, dir, dir, dir);
  return 0;
}

// What the command line says beside the tune file's own settings.
struct TuneRequest {
  fs::path file, directory;
  int jobs = 1, threads = 0;
  std::string storage, python;
};

TuneRequest tune_request(const cxxopts::ParseResult& parsed) {
  const auto positional = parsed.count("file") ? parsed["file"].as<std::vector<std::string>>()
                                               : std::vector<std::string>{};
  if (positional.empty()) fail("name a tune file: polyphony tune TUNE.toml");
  if (positional.size() > 1) fail("one tune file at a time (got {})", fmt::join(positional, ", "));
  TuneRequest r;
  r.file = positional[0];
  r.directory = parsed.count("out") ? fs::path(parsed["out"].as<std::string>())
                                    : fs::path("tunes") / r.file.stem();
  r.jobs = parsed["jobs"].as<int>();
  if (r.jobs < 1 || r.jobs > 256) fail("--jobs {}: from 1 to 256", r.jobs);
  if (parsed.count("threads")) {
    r.threads = parsed["threads"].as<int>();
    if (r.threads < 1) fail("--threads {}: at least 1", r.threads);
  } else if (r.jobs > 1) {
    r.threads = std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / r.jobs);
  }
  if (parsed.count("storage")) r.storage = parsed["storage"].as<std::string>();
  if (parsed.count("python")) r.python = parsed["python"].as<std::string>();
  return r;
}

// The search by local workers, then (unless `final_runs` is false) the chosen trials' final runs.
int search_and_train(const TuneStudy& study, const TuneRequest& r,
                     const std::vector<std::string>& settings, bool final_runs) {
  create_study(study, r.python);
  // The workers read the same study: the file, the settings, the storage this directory uses.
  std::vector<std::string> worker_arguments{fs::absolute(r.file).string(), "--out",
                                            study.directory.string(), "--storage", study.storage};
  for (const auto& s : settings) worker_arguments.insert(worker_arguments.end(), {"--set", s});
  if (!r.python.empty()) worker_arguments.insert(worker_arguments.end(), {"--python", r.python});
  if (r.threads > 0)
    worker_arguments.insert(worker_arguments.end(), {"--threads", std::to_string(r.threads)});
  const int status = run_workers(study, worker_arguments, r.jobs);
  if (status != 0) return status;
  const auto records = read_trial_records(study.directory);
  const auto running = std::count_if(records.begin(), records.end(),
                                     [](const TrialRecord& t) { return t.state == "running"; });
  if (running > 0) {
    fmt::print(
        "tune: {} trial{} still running elsewhere; run `polyphony tune` again when they "
        "end\n",
        running, running == 1 ? " is" : "s are");
    return kInterruptedExitStatus;
  }
  return final_runs ? train_chosen(study, r.jobs, r.threads) : 0;
}

}  // namespace

int tune(int argc, char** argv) {
  cxxopts::Options spec = tune_options();
  std::vector<std::string> words(argv + 1, argv + argc);
  const auto settings = take_option_values(words, "set");
  const auto slurm_lines = take_option_values(words, "slurm-option");
  const auto parsed = parse_arguments(spec, "tune", words);
  if (parsed.count("help")) {
    fmt::print("{}\n", spec.help());
    return 0;
  }
  const TuneRequest request = tune_request(parsed);
  const TuneStudy study =
      open_tune_study(request.file, request.directory, settings, request.storage);
  if (parsed.count("status")) return print_status(study);
  if (parsed.count("emit")) {
    if (parsed["emit"].as<std::string>() != "slurm")
      fail("--emit '{}': the one target is slurm", parsed["emit"].as<std::string>());
    return emit_slurm_scripts(study, settings, request.python, request.jobs,
                              read_slurm_options(parsed, slurm_lines));
  }
  if (parsed.count("worker")) {
    const int64_t worker = parsed["worker"].as<int64_t>();
    if (worker < 0) fail("--worker {}: 0 or more", worker);
    return run_tune_worker(study, {static_cast<uint64_t>(worker), request.python, request.threads});
  }
  return search_and_train(study, request, settings, !parsed.count("no-final"));
}

}  // namespace polyphony::cli
