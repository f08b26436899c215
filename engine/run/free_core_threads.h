#pragma once
// The CPU threads of a training that shares the machine with other busy processes. LibTorch's
// OpenMP threads spin a while after each parallel region before they sleep: alone that keeps a
// step fast, but beside another busy process the spinning takes the cores the other needs, and
// two trainings on two cores ran 8-10x slower each (docs/benchmarks.md, "Two trainings at
// once"). One thread runs no parallel region, so nothing spins; this keeps as many threads as
// the cores other processes leave free.

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

namespace polyphony {

// The CPU time (seconds) spent on each of `cpus` so far, by all processes (/proc/stat, whose
// clock ticks are 1/100 s), or nothing where it cannot be read.
std::optional<double> cpu_busy_seconds(const std::vector<int>& cpus);

// The CPUs this process may run on (its affinity mask).
std::vector<int> allowed_cpus();

class FreeCoreThreads {
 public:
  // At most `most` threads, re-measured at most every `interval`.
  explicit FreeCoreThreads(int most,
                           std::chrono::milliseconds interval = std::chrono::milliseconds(2000));

  // Cheap between measurements; called between steps. After an interval, sets LibTorch's thread
  // count to the cores the other processes left free in it (at least one, at most `most`) and
  // returns the new count when it changed.
  std::optional<int> update();

  // The thread count for `others` cores' worth of busy time on `cores` CPUs, at most `most`.
  static int threads_for(double others, int cores, int most);

 private:
  using Clock = std::chrono::steady_clock;
  int most_;
  int current_;
  std::chrono::milliseconds interval_;
  std::vector<int> cpus_;
  Clock::time_point last_time_;
  double last_busy_ = 0, last_own_ = 0;
  bool readable_ = false;
};

}  // namespace polyphony
