#include "tools/tune/tune_worker.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/error.h"
#include "engine/run/run_directory.h"
#include "tools/options/train_options.h"
#include "tools/run/child_process.h"
#include "tools/run/stop_signals.h"

namespace polyphony::cli {
namespace {

namespace fs = std::filesystem;

// An exclusive flock on `file` (created with its folder), held until destroyed: TUNE_DIR/
// trials/N/claim while a worker works on trial N (taken or not: `wait` false), TUNE_DIR/ask.lock
// while a worker asks for a trial and writes its record (waited for).
class FileLock {
 public:
  FileLock(const fs::path& file, bool wait) {
    std::error_code ec;
    fs::create_directories(file.parent_path(), ec);
    fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) fail("cannot open {}: {}", file.string(), std::strerror(errno));
    int status;
    do {
      status = ::flock(fd_, LOCK_EX | (wait ? 0 : LOCK_NB));
    } while (status != 0 && errno == EINTR && !StopSignals::received());
    if (status != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~FileLock() {
    if (fd_ >= 0) ::close(fd_);  // closing releases the lock
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  bool held() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// The validation lines a run has appended to metrics.jsonl since the last call.
class EpochLogReader {
 public:
  explicit EpochLogReader(fs::path file) : file_(std::move(file)) {}
  std::vector<nlohmann::json> new_validations() {
    std::vector<nlohmann::json> out;
    std::ifstream in(file_, std::ios::binary);
    if (!in) return out;
    // A resumed run first cuts the log back to its checkpoint's epoch: read it again from the
    // start (epochs already reported are skipped).
    std::error_code ec;
    if (fs::file_size(file_, ec) < offset_) offset_ = 0;
    in.seekg(static_cast<std::streamoff>(offset_));
    std::string line;
    while (std::getline(in, line)) {
      if (in.eof()) break;  // a line still being written: read again next time
      offset_ += line.size() + 1;
      const auto entry = nlohmann::json::parse(line, nullptr, false);
      if (entry.is_object() && entry.contains("valid") && entry["valid"].is_object())
        out.push_back(entry);
    }
    return out;
  }

 private:
  fs::path file_;
  size_t offset_ = 0;
};

enum class TrialOutcome { kComplete, kPruned, kFailed, kStopped };

// A seed's `polyphony train` while the worker watches it.
struct SeedRun {
  pid_t pid;
  EpochLogReader epochs;
  bool pruned = false, stopped = false, exited = false;
  int status = 0;
};

class Worker {
 public:
  Worker(const TuneStudy& study, const TuneWorkerOptions& options)
      : study_(study),
        options_(options),
        self_(self_executable()),
        bridge_(bridge_python(options.python), study.optuna(options.worker),
                study.directory / "logs" / fmt::format("optuna-worker-{}.log", options.worker)) {}

  int run() {
    StopSignals stop;
    fmt::print("tune worker {}: study {} in {} (Optuna {})\n", options_.worker, study_.study_name,
               study_.storage, bridge_.optuna_version());
    std::fflush(stdout);
    // Under the ask lock no worker is between its ask and its claim, so a running trial whose
    // claim is free was left by a worker that died, before or after writing its record.
    std::vector<AskedTrial> running;
    {
      const FileLock asking(ask_lock(), /*wait=*/true);
      if (!asking.held()) return kInterruptedExitStatus;
      running = bridge_.running();
    }
    for (const auto& trial : running) {
      if (StopSignals::received()) return kInterruptedExitStatus;
      const FileLock claim(claim_file(trial.number), /*wait=*/false);
      if (!claim.held()) continue;
      fmt::print("tune worker {}: adopting trial {}, left running\n", options_.worker,
                 trial.number);
      TrialRecord record = started_record(trial);
      if (run_trial(record, trial.steps) == TrialOutcome::kStopped) return kInterruptedExitStatus;
    }
    while (!StopSignals::received()) {
      std::optional<AskedTrial> trial;
      std::optional<FileLock> claim;
      TrialRecord record;
      {
        const FileLock asking(ask_lock(), /*wait=*/true);
        if (!asking.held()) break;
        trial = bridge_.ask();
        if (!trial) break;
        claim.emplace(claim_file(trial->number), /*wait=*/false);
        record = started_record(*trial);
      }
      if (run_trial(record, trial->steps) == TrialOutcome::kStopped) return kInterruptedExitStatus;
    }
    if (StopSignals::received()) return kInterruptedExitStatus;
    fmt::print("tune worker {}: the study has its {} trials\n", options_.worker,
               study_.file.trials);
    return failed_ ? 1 : 0;
  }

 private:
  fs::path ask_lock() const { return study_.directory / "ask.lock"; }
  fs::path claim_file(int64_t trial) const { return study_.trial_directory(trial) / "claim"; }
  // The record of a trial about to run, written: its number and values, state "running".
  TrialRecord started_record(const AskedTrial& asked);
  // Trains the seeds of a trial in turn; `steps`: the epochs already reported to Optuna.
  TrialOutcome run_trial(TrialRecord& record, const std::vector<int64_t>& steps);
  // Starts (or resumes) the run of one seed of a trial; nothing when it is finished.
  std::optional<pid_t> start_seed(const TrialRecord& record, uint64_t seed);
  // Reports the validation epochs `run` has written since the last call (when `report`), and
  // stops the run when Optuna prunes it.
  void report_epochs(SeedRun& run, TrialRecord& record, bool report, std::set<int64_t>& reported);
  // Trains one seed of a trial; `report` says whether its validation curve goes to the pruner.
  TrialOutcome run_seed(TrialRecord& record, uint64_t seed, bool report,
                        std::set<int64_t>& reported);
  TrialOutcome finish(TrialRecord& record, TrialOutcome outcome);

  const TuneStudy& study_;
  const TuneWorkerOptions& options_;
  const std::string self_;
  OptunaBridge bridge_;
  ConfigurationExpander expander_;
  bool failed_ = false;
};

TrialRecord Worker::started_record(const AskedTrial& asked) {
  TrialRecord record;
  record.number = asked.number;
  record.state = "running";
  for (const auto& d : study_.file.space) {
    if (!asked.params.contains(d.key))
      fail("Optuna's trial {} has no value for {}", asked.number, d.key);
    record.values[d.key] = trial_value_text(d, asked.params[d.key]);
  }
  write_trial_record(study_, record);
  return record;
}

TrialOutcome Worker::run_trial(TrialRecord& record, const std::vector<int64_t>& steps) {
  std::vector<std::string> values;
  for (const auto& [key, value] : record.values) values.push_back(key + "=" + value);
  fmt::print("tune worker {}: trial {}: {}\n", options_.worker, record.number,
             fmt::join(values, ", "));
  std::fflush(stdout);
  std::set<int64_t> reported(steps.begin(), steps.end());
  std::vector<double> sums(study_.file.objectives.size(), 0.0);
  const bool prune = study_.file.pruner != "none";
  for (size_t i = 0; i < study_.file.seeds.size(); ++i) {
    const uint64_t seed = study_.file.seeds[i];
    const TrialOutcome outcome = run_seed(record, seed, prune && i == 0, reported);
    if (outcome != TrialOutcome::kComplete) return finish(record, outcome);
    try {
      const auto values =
          run_objective_values(study_.run_directory(record.number, seed), study_.file.objectives);
      record.seeds[std::to_string(seed)] = values;
      for (size_t o = 0; o < values.size(); ++o) sums[o] += values[o];
    } catch (const Error& e) {
      record.error = e.what();
      return finish(record, TrialOutcome::kFailed);
    }
  }
  for (double& s : sums) s /= static_cast<double>(study_.file.seeds.size());
  record.objectives = sums;
  return finish(record, TrialOutcome::kComplete);
}

std::optional<pid_t> Worker::start_seed(const TrialRecord& record, uint64_t seed) {
  const fs::path run = study_.run_directory(record.number, seed);
  std::error_code ec;
  // A run another process still writes (a worker killed with -9 leaves its train running):
  // waited for.
  while (!fs::exists(run / run_file::kSummary, ec) && run_writer(run) && !StopSignals::received())
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  if (fs::exists(run / run_file::kSummary, ec)) return std::nullopt;
  const bool resume = fs::exists(run / run_file::kConfigJson, ec);
  if (!resume) fs::remove_all(run, ec);  // a start that failed before the run existed
  std::vector<std::string> arguments{self_, "train"};
  if (resume) {
    arguments.insert(arguments.end(), {"--resume", run.string()});
  } else {
    const auto train = study_.trial_arguments(expander_, record.values, seed, record.number);
    arguments.insert(arguments.end(), train.begin(), train.end());
    arguments.insert(arguments.end(), {"--out", run.string(), "--quiet"});
  }
  if (options_.threads > 0)
    arguments.insert(arguments.end(), {"--threads", std::to_string(options_.threads)});
  const fs::path log = study_.run_log(record.number, seed);
  std::ofstream(log, std::ios::app)
      << fmt::format("==> {} tune: {}\n", utc_now_text(), fmt::join(arguments, " "));
  return spawn_logged(arguments, log);
}

void Worker::report_epochs(SeedRun& run, TrialRecord& record, bool report,
                           std::set<int64_t>& reported) {
  const auto& metric = study_.file.objectives[0].metric;
  for (const auto& entry : run.epochs.new_validations()) {
    const int64_t epoch = entry.value("epoch", int64_t{0});
    if (!run.pruned) record.last_epoch = std::max(record.last_epoch, epoch);
    const auto& valid = entry["valid"];
    if (!report || run.pruned || run.stopped || reported.count(epoch) || !valid.contains(metric) ||
        !valid[metric].is_number())
      continue;
    reported.insert(epoch);
    run.pruned = bridge_.report(record.number, epoch, valid[metric].get<double>()) && !run.exited;
    if (run.pruned) ::kill(run.pid, SIGTERM);  // a checkpoint, then exit 75
  }
}

TrialOutcome Worker::run_seed(TrialRecord& record, uint64_t seed, bool report,
                              std::set<int64_t>& reported) {
  const auto pid = start_seed(record, seed);
  if (!pid) return TrialOutcome::kComplete;
  SeedRun run{*pid,
              EpochLogReader(study_.run_directory(record.number, seed) / run_file::kEpochLog)};
  // The curve goes to Optuna as it grows; what the run wrote just before it ended goes too, so
  // that the pruner compares later trials with whole curves.
  while (!run.exited) {
    run.exited = ::waitpid(run.pid, &run.status, WNOHANG) == run.pid;
    if (StopSignals::received() && !run.stopped && !run.exited) {
      ::kill(run.pid, SIGTERM);  // a checkpoint, then exit 75: the next worker resumes it
      run.stopped = true;
    }
    report_epochs(run, record, report, reported);
    if (!run.exited) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  if (run.stopped) return TrialOutcome::kStopped;
  if (run.pruned) return TrialOutcome::kPruned;
  if (WIFEXITED(run.status) && WEXITSTATUS(run.status) == 0) return TrialOutcome::kComplete;
  const fs::path log = study_.run_log(record.number, seed);
  record.error = WIFSIGNALED(run.status)
                     ? fmt::format("seed {} killed by signal {} ({})", seed, WTERMSIG(run.status),
                                   strsignal(WTERMSIG(run.status)))
                     : fmt::format("seed {}: {} (log: {})", seed, error_line(log), log.string());
  return TrialOutcome::kFailed;
}

TrialOutcome Worker::finish(TrialRecord& record, TrialOutcome outcome) {
  switch (outcome) {
    case TrialOutcome::kComplete:
      bridge_.tell_values(record.number, record.objectives);
      record.state = "complete";
      fmt::print("tune worker {}: trial {} complete: {}\n", options_.worker, record.number,
                 fmt::join(record.objectives, ", "));
      break;
    case TrialOutcome::kPruned:
      bridge_.tell_pruned(record.number);
      record.state = "pruned";
      fmt::print("tune worker {}: trial {} pruned after epoch {}\n", options_.worker, record.number,
                 record.last_epoch);
      break;
    case TrialOutcome::kFailed:
      bridge_.tell_failed(record.number);
      record.state = "failed";
      failed_ = true;
      fmt::print("tune worker {}: trial {} FAILED: {}\n", options_.worker, record.number,
                 record.error);
      break;
    case TrialOutcome::kStopped:
      // Left running in Optuna's storage: the next worker adopts it.
      fmt::print("tune worker {}: stopped trial {} with a checkpoint\n", options_.worker,
                 record.number);
      break;
  }
  write_trial_record(study_, record);
  std::fflush(stdout);
  return outcome;
}

}  // namespace

int run_tune_worker(const TuneStudy& study, const TuneWorkerOptions& options) {
  Worker worker(study, options);
  return worker.run();
}

}  // namespace polyphony::cli
