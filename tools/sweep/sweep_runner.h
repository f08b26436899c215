#pragma once
// Running a sweep's points as `polyphony train` processes, in a sweep directory:
//
//   SWEEP_DIR/sweep.json        the plan: every point's id, values, seed and arguments
//   SWEEP_DIR/points/ID/        an ordinary run directory per point (eval, export... work on it)
//   SWEEP_DIR/logs/ID.log       what the point's processes printed, each attempt appended
//   SWEEP_DIR/failed/ID.json    why the last attempt failed (removed when the point finishes)
//
// A point's state is read from its run directory, so a sweep started again, or a Slurm array
// task, carries on where the last one stopped: finished points are skipped, interrupted ones
// resumed from their checkpoints (exact resume), failed ones retried only when asked.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/sweep/sweep_plan.h"

namespace polyphony::cli {

enum class PointState {
  kNew,          // not started
  kRunning,      // a process holds its run lock
  kInterrupted,  // started, not finished, not failed: resumed from its newest checkpoint
  kFailed,       // the last attempt failed (failed/ID.json)
  kFinished,     // summary.json written
};
const char* point_state_name(PointState state);

struct PointStatus {
  PointState state = PointState::kNew;
  std::string detail;  // the error of a failed point, the process of a running one
};

class SweepDirectory {
 public:
  explicit SweepDirectory(std::filesystem::path root) : root_(std::move(root)) {}
  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path run(const SweepPoint& point) const;
  std::filesystem::path log(const SweepPoint& point) const;
  std::filesystem::path failure(const SweepPoint& point) const;

  PointStatus status(const SweepPoint& point) const;
  // Refuses (naming the point and the first differing argument) a plan that would change a
  // point already started or finished here: its results would no longer be what the file says.
  void check_unchanged(const SweepPlan& plan) const;
  // Writes sweep.json for `plan` (atomically).
  void write_plan(const SweepPlan& plan) const;

 private:
  std::filesystem::path root_;
};

// The plan as sweep.json holds it.
nlohmann::json plan_json(const SweepPlan& plan);

struct SweepRunOptions {
  int jobs = 1;                      // points trained at once
  std::vector<std::string> devices;  // one per job slot in turn; empty: each run's own --device
  int threads_per_job = 0;           // --threads of every run; 0: the run's own
  bool retry_failed = false;
  bool tensorboard = false;  // every point writes TensorBoard files, its group as hparams group
  // Every point logs to this MLflow server as a child of `mlflow_parent` (empty: no MLflow).
  std::string mlflow_uri, mlflow_experiment, mlflow_parent;
  bool quiet = false;  // no line per started point
};

// Trains the points of `plan` with the indices `selected` (all when empty) that are not finished,
// `jobs` at a time, printing progress. SIGINT or SIGTERM stops every running point with a
// checkpoint. Returns the exit status: 0 when every selected point is finished, 1 when some
// failed (each named with its error and log), 75 when stopped.
int run_sweep(const SweepPlan& plan, const SweepDirectory& directory,
              const SweepRunOptions& options, const std::vector<size_t>& selected = {});

// One line per point with its state, and the counts.
std::string sweep_status_table(const SweepPlan& plan, const SweepDirectory& directory);

}  // namespace polyphony::cli
