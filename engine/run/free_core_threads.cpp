#include "engine/run/free_core_threads.h"

#include <ATen/Parallel.h>
#include <sched.h>
#include <sys/resource.h>

#include <cmath>
#include <fstream>
#include <sstream>
#include <string>

namespace polyphony {
namespace {

// This process's CPU time so far (user and system), in seconds.
double own_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

}  // namespace

std::vector<int> allowed_cpus() {
  std::vector<int> cpus;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0)
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
      if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
  return cpus;
}

std::optional<double> cpu_busy_seconds(const std::vector<int>& cpus) {
  std::ifstream in("/proc/stat");
  if (!in) return std::nullopt;
  // "cpuN user nice system idle iowait irq softirq steal ...": busy is all but idle and iowait.
  double ticks = 0;
  size_t found = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("cpu", 0) != 0 || line.size() < 4 || line[3] < '0' || line[3] > '9') continue;
    std::istringstream fields(line.substr(3));
    int cpu = -1;
    fields >> cpu;
    bool wanted = false;
    for (const int c : cpus) wanted = wanted || c == cpu;
    if (!wanted) continue;
    ++found;
    double value = 0;
    for (int field = 0; fields >> value; ++field)
      if (field != 3 && field != 4 && field < 8) ticks += value;
  }
  if (found != cpus.size()) return std::nullopt;
  return ticks / 100.0;  // USER_HZ is 100 on Linux
}

int FreeCoreThreads::threads_for(double others, int cores, int most) {
  const int free = cores - static_cast<int>(std::lround(others));
  return std::max(1, std::min(most, free));
}

FreeCoreThreads::FreeCoreThreads(int most, std::chrono::milliseconds interval)
    : most_(std::max(1, most)),
      current_(at::get_num_threads()),
      interval_(interval),
      cpus_(allowed_cpus()),
      last_time_(Clock::now()) {
  const auto busy = cpu_busy_seconds(cpus_);
  readable_ = busy.has_value() && !cpus_.empty();
  if (readable_) last_busy_ = *busy;
  last_own_ = own_cpu_seconds();
}

std::optional<int> FreeCoreThreads::update() {
  if (!readable_) return std::nullopt;
  const auto now = Clock::now();
  const double elapsed = std::chrono::duration<double>(now - last_time_).count();
  if (elapsed * 1000 < static_cast<double>(interval_.count())) return std::nullopt;
  const auto busy = cpu_busy_seconds(cpus_);
  if (!busy) return std::nullopt;
  const double own = own_cpu_seconds();
  // Cores' worth of time the other processes used on our CPUs over the interval.
  const double others = std::max(0.0, (*busy - last_busy_) - (own - last_own_)) / elapsed;
  last_time_ = now;
  last_busy_ = *busy;
  last_own_ = own;
  const int threads = threads_for(others, static_cast<int>(cpus_.size()), most_);
  if (threads == current_) return std::nullopt;
  current_ = threads;
  at::set_num_threads(threads);
  return threads;
}

}  // namespace polyphony
