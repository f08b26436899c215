#pragma once
// Training progress for people: on a terminal a bar redrawn in place with rate and ETA; in a log
// file (not a terminal) a plain line now and then, so long epochs still show signs of life.

#include <chrono>
#include <cstdint>
#include <string>

#include "engine/train/trainer.h"

namespace polyphony::cli {

class ProgressDisplay {
 public:
  // `interactions_per_step`: the batch size; `line_interval_seconds`: the period of plain lines.
  ProgressDisplay(int64_t interactions_per_step, double line_interval_seconds, bool enabled);

  // After each step.
  void update(const StepProgress& progress);
  // Before printing anything else: clears the bar.
  void clear();

 private:
  std::string describe(const StepProgress& progress, double rate) const;

  using Clock = std::chrono::steady_clock;
  int64_t interactions_per_step_;
  double line_interval_;
  bool enabled_;
  bool terminal_;
  bool drawn_ = false;
  Clock::time_point start_ = Clock::now();
  Clock::time_point last_draw_{};
  int64_t first_step_ = -1;
  int64_t epoch_ = -1;
};

}  // namespace polyphony::cli
