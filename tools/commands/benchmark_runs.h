#pragma once
// Runs the registered Google Benchmark benchmarks and pairs the same benchmark across devices, for
// `polyphony bench`'s side-by-side table.

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace polyphony::cli {

struct BenchmarkRun {
  std::string name;    // as registered: WHAT/DEVICE/SIZES
  std::string what;    // the name without its device part: WHAT/SIZES
  std::string device;  // "cpu", "cuda"
  std::string unit;    // what rate() counts, as declared when registered ("interactions/s")
  int64_t iterations = 0;
  double seconds_per_iteration = 0;  // wall time
  double items_per_second = 0;       // 0 when the benchmark counts no items
  // The benchmark's other counters: steps_per_second, kernels_per_step, GB/s as bytes_per_second...
  std::map<std::string, double> counters;
  std::string error;  // the failure's message; empty when it ran

  // items/s, or iterations/s for a benchmark that counts no items.
  double rate() const;
};

// Splits a registered name into `what` and `device`; a name with one part has device "".
void split_benchmark_name(const std::string& name, std::string& what, std::string& device);

// Runs every registered benchmark, in registration order, and clears the registry. `on_run` is
// called after each one (progress lines).
std::vector<BenchmarkRun> run_registered_benchmarks(
    const std::function<void(const BenchmarkRun&)>& on_run = {});

// One benchmark on each device it ran on, in first-run order.
struct BenchmarkComparison {
  std::string what;
  std::string unit;
  std::map<std::string, BenchmarkRun> by_device;

  // rate on `faster` / rate on `baseline`; 0 when either is missing or failed.
  double speedup(const std::string& faster, const std::string& baseline) const;
};
std::vector<BenchmarkComparison> compare_devices(const std::vector<BenchmarkRun>& runs);

}  // namespace polyphony::cli
