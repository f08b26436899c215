// polyphony sweep: the runs of a sweep file (variants × axes × seeds), on this machine a few at a
// time, or as a Slurm job array.

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <optional>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <cxxopts.hpp>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/option_text.h"
#include "engine/data/data_options.h"
#include "engine/eval/evaluator_options.h"
#include "engine/io/atomic_file.h"
#include "tools/commands/commands.h"
#include "tools/options/train_options.h"
#include "tools/run/json_file.h"
#include "tools/run/stop_signals.h"
#include "tools/sweep/slurm_script.h"
#include "tools/sweep/sweep_plan.h"
#include "tools/sweep/sweep_runner.h"
#include "tools/track/mlflow_log.h"

namespace polyphony::cli {
namespace {

namespace fs = std::filesystem;

// A flock on SWEEP_DIR/sweep.lock for as long as it lives: exclusive for a sweep on this machine
// (one schedules the points at a time), shared for Slurm array tasks (many at once, each on its
// own point), so the two kinds never run on one directory together.
class SweepLock {
 public:
  SweepLock(const fs::path& dir, bool exclusive) {
    const fs::path file = dir / "sweep.lock";
    fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) fail("cannot open {}: {}", file.string(), std::strerror(errno));
    if (::flock(fd_, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) != 0) {
      const int error = errno;
      ::close(fd_);
      if (error == EWOULDBLOCK)
        fail("sweep {} is being run by {}; wait for it, or stop it first", dir.string(),
             exclusive ? "another sweep or Slurm tasks" : "a sweep on one machine (not Slurm)");
      fail("cannot lock {}: {}", file.string(), std::strerror(error));
    }
  }
  ~SweepLock() { ::close(fd_); }
  SweepLock(const SweepLock&) = delete;
  SweepLock& operator=(const SweepLock&) = delete;

 private:
  int fd_ = -1;
};

cxxopts::Options sweep_options() {
  cxxopts::Options spec("polyphony sweep",
                        "Train every point of a sweep file (variants x axes x seeds) into a sweep "
                        "directory, resumably: on this machine, or as a Slurm job array.");
  spec.add_options()("out", "sweep directory (default sweeps/NAME, NAME the file's stem)",
                     cxxopts::value<std::string>())(
      "set", "SECTION.KEY=VALUE for every point, after the file's [set] (repeatable)",
      cxxopts::value<std::vector<std::string>>())("jobs", "points trained at once",
                                                  cxxopts::value<int>()->default_value("1"))(
      "devices", "devices given to the jobs in turn, such as cuda:0,cuda:1",
      cxxopts::value<std::string>())(
      "threads", "CPU threads of each point (default: the cores shared out between the jobs)",
      cxxopts::value<int>())("retry-failed", "train failed points again")(
      "tensorboard",
      "every point writes TensorBoard event files, with its point group as hparams group "
      "(the whole study: tensorboard --logdir SWEEP_DIR/points)")(
      "mlflow",
      "log every point to this MLflow tracking server, as child runs of one run for the sweep "
      "(default: $MLFLOW_TRACKING_URI when it names a server)",
      cxxopts::value<std::string>())(
      "mlflow-experiment", "MLflow experiment of the sweep",
      cxxopts::value<std::string>()->default_value(MlflowSettings().experiment))(
      "status", "show each point's state and train nothing")(
      "dry-run", "list the points and their train commands, and train nothing")(
      "task", "train only the point with this index (what a Slurm array task runs)",
      cxxopts::value<int64_t>())("emit", "slurm: write SWEEP_DIR/sweep.sbatch and train nothing",
                                 cxxopts::value<std::string>())(
      "quiet", "no line per started point")("h,help", "show this help");
  add_slurm_options(spec);
  spec.add_options()("file", "the sweep file", cxxopts::value<std::vector<std::string>>());
  spec.parse_positional({"file"});
  spec.positional_help("SWEEP.toml");
  return spec;
}

void print_dry_run(const SweepPlan& plan, const SweepDirectory& directory) {
  fmt::print("sweep {}: {} points into {}\n", plan.name, plan.points.size(),
             directory.root().string());
  for (size_t i = 0; i < plan.points.size(); ++i)
    fmt::print("  [{}] {}\n      polyphony train {} --out {}\n", i, plan.points[i].id,
               fmt::join(plan.points[i].arguments, " "), directory.run(plan.points[i]).string());
}

// A Slurm array task: its index names a point, and the plan must be the one the script was
// written for.
void check_array_task(const SweepPlan& plan, const fs::path& dir, int64_t task) {
  if (task < 0 || task >= static_cast<int64_t>(plan.points.size()))
    fail("--task {}: the sweep has points 0 to {}", task, plan.points.size() - 1);
  const auto emitted = read_json_file(dir / "sweep.json");
  if (emitted.is_discarded())
    fail("{}: missing or damaged (write it with `polyphony sweep SWEEP.toml --emit slurm`)",
         (dir / "sweep.json").string());
  if (emitted != plan_json(plan))
    fail("{} changed since {} was written; write the script again with --emit slurm",
         plan.file.string(), (dir / "sweep.json").string());
}

SlurmOptions slurm_options(const cxxopts::ParseResult& parsed,
                           const std::vector<std::string>& slurm_lines,
                           const MlflowSettings& mlflow) {
  if (parsed["emit"].as<std::string>() != "slurm")
    fail("--emit '{}': the one target is slurm", parsed["emit"].as<std::string>());
  SlurmOptions slurm = read_slurm_options(parsed, slurm_lines);
  slurm.tensorboard = parsed.count("tensorboard") > 0;
  slurm.mlflow_uri = mlflow.tracking_uri;
  slurm.mlflow_experiment = mlflow.experiment;
  return slurm;
}

// --emit slurm: SWEEP_DIR/sweep.sbatch and the plan it runs; nothing is trained.
int emit_slurm_script(const SweepPlan& plan, const SweepDirectory& directory,
                      const std::vector<std::string>& settings, const SlurmOptions& slurm,
                      const MlflowSettings& mlflow) {
  const fs::path& dir = directory.root();
  // The script first: a value it refuses leaves nothing written.
  const std::string text =
      slurm_array_script(plan, dir, fs::read_symlink("/proc/self/exe"), settings, slurm);
  directory.write_plan(plan);
  // Slurm opens each task's output file in SWEEP_DIR/logs: without the folder no task starts.
  std::error_code ec;
  fs::create_directories(dir / "logs", ec);
  if (ec) fail("cannot create {}: {}", (dir / "logs").string(), ec.message());
  // The sweep's MLflow run, made once here; every task finds it in SWEEP_DIR/mlflow.json.
  if (!mlflow.tracking_uri.empty()) sweep_parent_run(dir, mlflow, plan.name, /*create=*/true);
  const fs::path script = dir / "sweep.sbatch";
  write_file_atomically(script, text);
  fs::permissions(script, fs::perms::owner_exec | fs::perms::group_exec, fs::perm_options::add);
  fmt::print("wrote {} ({} array tasks); submit it with: sbatch {}\n", script.string(),
             plan.points.size(), script.string());
  return 0;
}

SweepRunOptions sweep_run_options(const cxxopts::ParseResult& parsed) {
  SweepRunOptions run;
  run.jobs = parsed["jobs"].as<int>();
  if (run.jobs < 1 || run.jobs > 256) fail("--jobs {}: from 1 to 256", run.jobs);
  if (parsed.count("devices")) {
    const std::string devices = parsed["devices"].as<std::string>();
    run.devices = OptionText("devices", devices, "DEVICE,DEVICE,... such as cuda:0,cuda:1")
                      .fields(devices, ',', 1, std::numeric_limits<size_t>::max());
  }
  if (parsed.count("threads")) {
    run.threads_per_job = parsed["threads"].as<int>();
    if (run.threads_per_job < 1) fail("--threads {}: at least 1", run.threads_per_job);
  } else if (run.jobs > 1) {
    run.threads_per_job =
        std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / run.jobs);
  }
  run.retry_failed = parsed.count("retry-failed") > 0;
  run.tensorboard = parsed.count("tensorboard") > 0;
  run.quiet = parsed.count("quiet") > 0;
  return run;
}

// Trains the points here: all of them under an exclusive lock, or one Slurm array task's under a
// shared one.
int train_points(const SweepPlan& plan, const SweepDirectory& directory, SweepRunOptions run,
                 const MlflowSettings& mlflow, std::optional<int64_t> task) {
  const fs::path& dir = directory.root();
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) fail("cannot create sweep directory {}: {}", dir.string(), ec.message());
  if (!mlflow.tracking_uri.empty()) {
    run.mlflow_uri = mlflow.tracking_uri;
    run.mlflow_experiment = mlflow.experiment;
    run.mlflow_parent = sweep_parent_run(dir, mlflow, plan.name, !task);
  }
  if (task) {  // checked against the emitted plan
    SweepLock lock(dir, /*exclusive=*/false);
    return run_sweep(plan, directory, run, {static_cast<size_t>(*task)});
  }
  SweepLock lock(dir, /*exclusive=*/true);
  directory.write_plan(plan);
  const int status = run_sweep(plan, directory, run);
  if (status != kInterruptedExitStatus)
    end_sweep_parent_run(mlflow, run.mlflow_parent, status == 0);
  return status;
}

}  // namespace

int sweep(int argc, char** argv) {
  cxxopts::Options spec = sweep_options();
  // --set and --slurm-option values may hold commas, which cxxopts would split.
  std::vector<std::string> words(argv + 1, argv + argc);
  const auto settings = take_option_values(words, "set");
  const auto slurm_lines = take_option_values(words, "slurm-option");
  const auto parsed = parse_arguments(spec, "sweep", words);
  if (parsed.count("help")) {
    fmt::print("{}\n", spec.help());
    return 0;
  }
  const auto positional = parsed.count("file") ? parsed["file"].as<std::vector<std::string>>()
                                               : std::vector<std::string>{};
  if (positional.empty()) fail("name a sweep file: polyphony sweep SWEEP.toml");
  if (positional.size() > 1) fail("one sweep file at a time (got {})", fmt::join(positional, ", "));

  const SweepPlan plan = read_sweep_plan(positional[0], settings);
  const fs::path dir = fs::absolute(parsed.count("out") ? fs::path(parsed["out"].as<std::string>())
                                                        : fs::path("sweeps") / plan.name)
                           .lexically_normal();
  const SweepDirectory directory(dir);
  if (parsed.count("dry-run")) {
    print_dry_run(plan, directory);
    return 0;
  }
  if (parsed.count("status")) {
    fmt::print("sweep {} in {}:\n{}", plan.name, dir.string(), sweep_status_table(plan, directory));
    return 0;
  }
  std::optional<int64_t> task;
  if (parsed.count("task")) {
    task = parsed["task"].as<int64_t>();
    check_array_task(plan, dir, *task);
  }
  directory.check_unchanged(plan);
  MlflowSettings mlflow;
  mlflow.tracking_uri = mlflow_tracking_uri(
      parsed.count("mlflow") ? parsed["mlflow"].as<std::string>() : "", "--mlflow");
  mlflow.experiment = parsed["mlflow-experiment"].as<std::string>();
  if (parsed.count("emit"))
    return emit_slurm_script(plan, directory, settings, slurm_options(parsed, slurm_lines, mlflow),
                             mlflow);
  return train_points(plan, directory, sweep_run_options(parsed), mlflow, task);
}

}  // namespace polyphony::cli
