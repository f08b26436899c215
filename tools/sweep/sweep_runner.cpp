#include "tools/sweep/sweep_runner.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <map>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/error.h"
#include "engine/io/atomic_file.h"
#include "engine/run/run_directory.h"
#include "tools/run/child_process.h"
#include "tools/run/json_file.h"
#include "tools/run/resume.h"
#include "tools/run/stop_signals.h"

namespace polyphony::cli {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Options that say where and how fast a run goes and what it logs, not what it computes: left
// out when a point's recorded arguments are compared with the plan. The words each takes.
int placement_words(const std::string& option) {
  for (const char* with_value :
       {"--out", "--threads", "--device", "--tensorboard-group", "--mlflow", "--mlflow-experiment",
        "--mlflow-parent", "--mlflow-run-name", "--mlflow-tag"})
    if (option == with_value) return 2;
  return option == "--tensorboard" ? 1 : 0;
}

std::vector<std::string> without_placement(const std::vector<std::string>& arguments) {
  std::vector<std::string> out;
  for (size_t i = 0; i < arguments.size(); ++i) {
    if (const int words = placement_words(arguments[i])) {
      i += static_cast<size_t>(words - 1);  // and its value
      continue;
    }
    const auto equals = arguments[i].find('=');
    if (equals != std::string::npos && placement_words(arguments[i].substr(0, equals)) > 0)
      continue;
    out.push_back(arguments[i]);
  }
  return out;
}

// "NDCG@10 0.0912, ARP@10 123.4" from a finished run's metrics.json.
std::string headline_metrics(const fs::path& run) {
  const auto metrics = read_json_file(run / run_file::kTestMetrics);
  if (!metrics.is_object() || !metrics.contains("metrics")) return "";
  std::vector<std::string> parts;
  for (const char* name : {"NDCG@10", "Recall@10", "ARP@10"})
    if (metrics["metrics"].contains(name) && metrics["metrics"][name].is_number())
      parts.push_back(fmt::format("{} {:.4g}", name, metrics["metrics"][name].get<double>()));
  return fmt::format("{}", fmt::join(parts, ", "));
}

// A running `polyphony train`.
struct Child {
  pid_t pid;
  size_t point;
  size_t slot;
  Clock::time_point started;
};

}  // namespace

const char* point_state_name(PointState state) {
  switch (state) {
    case PointState::kNew:
      return "new";
    case PointState::kRunning:
      return "running";
    case PointState::kInterrupted:
      return "interrupted";
    case PointState::kFailed:
      return "failed";
    case PointState::kFinished:
      return "finished";
  }
  return "?";
}

fs::path SweepDirectory::run(const SweepPoint& point) const { return root_ / "points" / point.id; }
fs::path SweepDirectory::log(const SweepPoint& point) const {
  return root_ / "logs" / (point.id + ".log");
}
fs::path SweepDirectory::failure(const SweepPoint& point) const {
  return root_ / "failed" / (point.id + ".json");
}

PointStatus SweepDirectory::status(const SweepPoint& point) const {
  const fs::path dir = run(point);
  std::error_code ec;
  if (fs::exists(dir / run_file::kSummary, ec)) return {PointState::kFinished, ""};
  if (const auto writer = run_writer(dir))
    return {PointState::kRunning, *writer > 0 ? fmt::format("process {}", *writer) : ""};
  if (fs::exists(failure(point), ec)) {
    const auto record = read_json_file(failure(point));
    return {PointState::kFailed,
            record.is_object() && record.contains("error") && record["error"].is_string()
                ? record["error"].get<std::string>()
                : "see " + log(point).string()};
  }
  if (fs::exists(dir / run_file::kConfigJson, ec)) return {PointState::kInterrupted, ""};
  return {PointState::kNew, ""};
}

void SweepDirectory::check_unchanged(const SweepPlan& plan) const {
  for (const auto& point : plan.points) {
    const fs::path command_file = run(point) / run_file::kCommand;
    std::error_code ec;
    if (!fs::exists(command_file, ec)) continue;
    const auto command = read_command(run(point));  // an Error naming the file if damaged
    const auto recorded = without_placement(command["arguments"].get<std::vector<std::string>>());
    const auto planned = without_placement(point.arguments);
    if (recorded == planned) continue;
    size_t at = 0;
    while (at < recorded.size() && at < planned.size() && recorded[at] == planned[at]) ++at;
    // Name the option whose value differs.
    const std::string option =
        at > 0 && at < recorded.size() && at < planned.size() && recorded[at].rfind("--", 0) != 0
            ? recorded[at - 1] + " "
            : "";
    fail(
        "{} changes sweep point {}, which {} has started with other settings ({}ran with '{}', "
        "the sweep now says '{}'); undo the change, or sweep into another --out",
        plan.file.string(), point.id, root_.string(), option,
        at < recorded.size() ? recorded[at] : "(end)", at < planned.size() ? planned[at] : "(end)");
  }
}

nlohmann::json plan_json(const SweepPlan& plan) {
  nlohmann::json points = nlohmann::json::array();
  for (const auto& p : plan.points) {
    nlohmann::json values = nlohmann::json::array();  // [key, value] pairs, in the axes' order
    for (const auto& [key, value] : p.values) values.push_back({key, value});
    points.push_back({{"id", p.id},
                      {"group", p.group},
                      {"variant", p.variant},
                      {"values", values},
                      {"seed", p.seed},
                      {"arguments", p.arguments}});
  }
  return {{"file", plan.file.string()}, {"name", plan.name},         {"base", plan.base.string()},
          {"baseline", plan.baseline},  {"variants", plan.variants}, {"axes", plan.axes},
          {"seeds", plan.seeds},        {"points", points}};
}

void SweepDirectory::write_plan(const SweepPlan& plan) const {
  std::error_code ec;
  fs::create_directories(root_, ec);
  if (ec) fail("cannot create sweep directory {}: {}", root_.string(), ec.message());
  write_file_atomically(root_ / "sweep.json", plan_json(plan).dump(2) + "\n");
}

std::string sweep_status_table(const SweepPlan& plan, const SweepDirectory& directory) {
  std::map<PointState, int> counts;
  std::string out;
  for (const auto& point : plan.points) {
    const auto status = directory.status(point);
    ++counts[status.state];
    out += fmt::format("  {:<12}{}{}\n", point_state_name(status.state), point.id,
                       status.detail.empty() ? "" : "  (" + status.detail + ")");
  }
  out += fmt::format("{} points: {} finished, {} running, {} interrupted, {} failed, {} new\n",
                     plan.points.size(), counts[PointState::kFinished],
                     counts[PointState::kRunning], counts[PointState::kInterrupted],
                     counts[PointState::kFailed], counts[PointState::kNew]);
  return out;
}

namespace {

// One `run_sweep`: the points still to train, the running `polyphony train` processes and the
// tallies that the progress lines and the exit status report.
class SweepSession {
 public:
  SweepSession(const SweepPlan& plan, const SweepDirectory& directory,
               const SweepRunOptions& options)
      : plan_(plan),
        directory_(directory),
        options_(options),
        self_(self_executable()),
        slot_busy_(static_cast<size_t>(options.jobs), false) {}

  // Sorts the chosen points: finished ones are counted, running ones left to their process,
  // failed ones retried when asked, the rest queued.
  void queue(const std::vector<size_t>& chosen);
  // Trains the queue, `jobs` at a time, until it is empty or a stop signal has been passed on
  // and every running point has exited. Returns the exit status.
  int run();

 private:
  void forward_stop_signal();
  void start(const SweepPoint& point, size_t point_index);
  std::vector<std::string> train_arguments(const SweepPoint& point, bool resume, size_t slot) const;
  // Waits briefly for one child; false when none exited.
  bool reap_one();
  void record_failure(const SweepPoint& point, int code, int wait_status);
  void print_progress() const;
  int finish() const;

  const SweepPlan& plan_;
  const SweepDirectory& directory_;
  const SweepRunOptions& options_;
  const std::string self_;
  std::vector<size_t> queue_;
  size_t next_ = 0;
  size_t total_ = 0;
  int finished_ = 0, failed_ = 0, busy_elsewhere_ = 0;
  std::vector<std::string> failures_;
  std::vector<Child> running_;
  std::vector<bool> slot_busy_;
  std::vector<double> durations_;
  Clock::time_point started_ = Clock::now();
  bool forwarded_ = false;  // a stop signal was passed on: nothing more starts
};

void SweepSession::queue(const std::vector<size_t>& chosen) {
  total_ = chosen.size();
  std::error_code ec;
  for (const size_t i : chosen) {
    const SweepPoint& point = plan_.points[i];
    const auto status = directory_.status(point);
    switch (status.state) {
      case PointState::kFinished:
        ++finished_;
        break;
      case PointState::kRunning:
        ++busy_elsewhere_;
        fmt::print("sweep: {} is being trained by {}; left to it\n", point.id,
                   status.detail.empty() ? "another process" : status.detail);
        break;
      case PointState::kFailed:
        if (options_.retry_failed) {
          fs::remove(directory_.failure(point), ec);
          queue_.push_back(i);
        } else {
          ++failed_;
          failures_.push_back(fmt::format("  {}: {}\n    log: {}", point.id, status.detail,
                                          directory_.log(point).string()));
        }
        break;
      default:
        queue_.push_back(i);
    }
  }
  fmt::print("sweep {}: {} points, {} finished, {} to train{}, {} at a time\n", plan_.name, total_,
             finished_, queue_.size(), failed_ ? fmt::format(", {} failed earlier", failed_) : "",
             options_.jobs);
  std::fflush(stdout);
}

int SweepSession::run() {
  StopSignals stop;
  started_ = Clock::now();
  while ((!forwarded_ && next_ < queue_.size()) || !running_.empty()) {
    if (StopSignals::received() && !forwarded_) forward_stop_signal();
    while (!forwarded_ && next_ < queue_.size() && running_.size() < slot_busy_.size()) {
      const size_t index = queue_[next_++];
      start(plan_.points[index], index);
    }
    if (!reap_one()) continue;
    print_progress();
  }
  return finish();
}

void SweepSession::forward_stop_signal() {
  // Each run writes a checkpoint and exits 75; the next sweep resumes it.
  for (const auto& child : running_) ::kill(child.pid, SIGTERM);
  forwarded_ = true;
  fmt::print("sweep: {} received; stopping {} running points with a checkpoint\n",
             StopSignals::name(StopSignals::received()), running_.size());
  std::fflush(stdout);
}

std::vector<std::string> SweepSession::train_arguments(const SweepPoint& point, bool resume,
                                                       size_t slot) const {
  const fs::path dir = directory_.run(point);
  std::vector<std::string> arguments{self_, "train"};
  if (resume) {
    arguments.insert(arguments.end(), {"--resume", dir.string()});
  } else {
    arguments.insert(arguments.end(), point.arguments.begin(), point.arguments.end());
    arguments.insert(arguments.end(), {"--out", dir.string()});
  }
  if (options_.threads_per_job > 0)
    arguments.insert(arguments.end(), {"--threads", std::to_string(options_.threads_per_job)});
  if (!options_.devices.empty())
    arguments.insert(arguments.end(),
                     {"--device", options_.devices[slot % options_.devices.size()]});
  if (options_.tensorboard)
    arguments.insert(arguments.end(), {"--tensorboard", "--tensorboard-group", point.group});
  if (!options_.mlflow_uri.empty()) {
    arguments.insert(arguments.end(), {"--mlflow", options_.mlflow_uri, "--mlflow-experiment",
                                       options_.mlflow_experiment, "--mlflow-run-name", point.id,
                                       "--mlflow-tag", "polyphony.sweep=" + plan_.name,
                                       "--mlflow-tag", "polyphony.sweep_point=" + point.id});
    if (!options_.mlflow_parent.empty())
      arguments.insert(arguments.end(), {"--mlflow-parent", options_.mlflow_parent});
  }
  return arguments;
}

void SweepSession::start(const SweepPoint& point, size_t point_index) {
  const size_t slot = static_cast<size_t>(std::find(slot_busy_.begin(), slot_busy_.end(), false) -
                                          slot_busy_.begin());
  const fs::path dir = directory_.run(point);
  const bool resume = directory_.status(point).state == PointState::kInterrupted;
  std::error_code ec;
  if (!resume && fs::exists(dir, ec) && !fs::is_empty(dir, ec)) {
    // A start that failed before the run existed (no config.resolved.json): nothing of value.
    fs::remove_all(dir, ec);
  }
  const auto arguments = train_arguments(point, resume, slot);
  {
    std::ofstream log(directory_.log(point), std::ios::app);
    log << fmt::format("==> {} sweep: {}\n", utc_now_text(), fmt::join(arguments, " "));
  }
  running_.push_back(
      {spawn_logged(arguments, directory_.log(point)), point_index, slot, Clock::now()});
  slot_busy_[slot] = true;
  if (!options_.quiet)
    fmt::print(
        "sweep: {} {}{}\n", resume ? "resuming" : "training", point.id,
        options_.devices.empty() ? "" : " on " + options_.devices[slot % options_.devices.size()]);
  std::fflush(stdout);
}

bool SweepSession::reap_one() {
  int wait_status = 0;
  const pid_t done = ::waitpid(-1, &wait_status, WNOHANG);
  if (done <= 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    return false;
  }
  const auto it =
      std::find_if(running_.begin(), running_.end(), [&](const Child& c) { return c.pid == done; });
  if (it == running_.end()) return false;
  const Child child = *it;
  running_.erase(it);
  slot_busy_[child.slot] = false;
  const SweepPoint& point = plan_.points[child.point];
  const double seconds = std::chrono::duration<double>(Clock::now() - child.started).count();
  const int code = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1;
  if (code == 0) {
    ++finished_;
    durations_.push_back(seconds);
    const std::string metrics = headline_metrics(directory_.run(point));
    fmt::print("sweep: finished {} in {}{}\n", point.id, duration_text(seconds),
               metrics.empty() ? std::string() : ": " + metrics);
  } else if (code == kInterruptedExitStatus) {
    fmt::print("sweep: stopped {} with a checkpoint; the next sweep resumes it\n", point.id);
  } else if (forwarded_ && WIFSIGNALED(wait_status) && WTERMSIG(wait_status) == SIGTERM) {
    // The sweep's own SIGTERM reached the run before it could catch it (still starting up).
    fmt::print("sweep: stopped {} while it started; the next sweep starts it again\n", point.id);
  } else {
    record_failure(point, code, wait_status);
  }
  return true;
}

void SweepSession::record_failure(const SweepPoint& point, int code, int wait_status) {
  ++failed_;
  const std::string why = WIFSIGNALED(wait_status)
                              ? fmt::format("killed by signal {} ({})", WTERMSIG(wait_status),
                                            strsignal(WTERMSIG(wait_status)))
                              : error_line(directory_.log(point));
  write_file_atomically(directory_.failure(point),
                        nlohmann::json{{"error", why},
                                       {"exit_status", code},
                                       {"log", directory_.log(point).string()},
                                       {"date", utc_now_text()}}
                                .dump(2) +
                            "\n");
  failures_.push_back(
      fmt::format("  {}: {}\n    log: {}", point.id, why, directory_.log(point).string()));
  fmt::print("sweep: FAILED {}: {}\n", point.id, why);
}

void SweepSession::print_progress() const {
  const size_t left = queue_.size() - next_;
  std::string eta;
  if (!durations_.empty()) {
    double mean = 0;
    for (double d : durations_) mean += d;
    mean /= static_cast<double>(durations_.size());
    const double remaining =
        mean * (static_cast<double>(left) + 0.5 * static_cast<double>(running_.size())) /
        options_.jobs;
    eta = fmt::format(", about {} left", duration_text(remaining));
  }
  fmt::print("sweep: {}/{} done, {} running, {} failed, {} waiting; {} elapsed{}\n", finished_,
             total_, running_.size(), failed_, left,
             duration_text(std::chrono::duration<double>(Clock::now() - started_).count()), eta);
  std::fflush(stdout);
}

int SweepSession::finish() const {
  if (busy_elsewhere_)
    fmt::print("sweep: {} points are being trained elsewhere\n", busy_elsewhere_);
  std::fflush(stdout);
  if (!failures_.empty())
    fmt::print(stderr,
               "sweep: failed points: {} (run the sweep again with --retry-failed to retry "
               "them):\n{}\n",
               failures_.size(), fmt::join(failures_, "\n"));
  if (forwarded_) return kInterruptedExitStatus;
  if (failed_ > 0) return 1;
  return busy_elsewhere_ > 0 ? kInterruptedExitStatus : 0;
}

}  // namespace

int run_sweep(const SweepPlan& plan, const SweepDirectory& directory,
              const SweepRunOptions& options, const std::vector<size_t>& selected) {
  std::vector<size_t> chosen = selected;
  if (chosen.empty())
    for (size_t i = 0; i < plan.points.size(); ++i) chosen.push_back(i);
  std::error_code ec;
  for (const char* folder : {"points", "logs", "failed"}) {
    fs::create_directories(directory.root() / folder, ec);
    if (ec) fail("cannot create {}: {}", (directory.root() / folder).string(), ec.message());
  }
  SweepSession session(plan, directory, options);
  session.queue(chosen);
  return session.run();
}

}  // namespace polyphony::cli
