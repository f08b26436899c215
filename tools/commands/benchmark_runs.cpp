#include "tools/commands/benchmark_runs.h"

#include <benchmark/benchmark.h>

#include "benchmarks/benchmarks.h"

namespace polyphony::cli {
namespace {

// Collects each finished run instead of printing it.
class CollectingReporter : public benchmark::BenchmarkReporter {
 public:
  explicit CollectingReporter(const std::function<void(const BenchmarkRun&)>& on_run)
      : on_run_(on_run) {}

  bool ReportContext(const Context&) override { return true; }

  void ReportRuns(const std::vector<Run>& reports) override {
    for (const auto& report : reports) {
      if (report.run_type != Run::RT_Iteration) continue;
      BenchmarkRun run;
      run.name = report.run_name.function_name;
      split_benchmark_name(run.name, run.what, run.device);
      run.unit = rate_unit(run.name);
      if (report.error_occurred) {
        run.error = report.error_message;
      } else {
        run.iterations = report.iterations;
        run.seconds_per_iteration = report.real_accumulated_time /
                                    static_cast<double>(std::max<int64_t>(1, run.iterations));
        for (const auto& [name, counter] : report.counters)
          if (name == "items_per_second")
            run.items_per_second = counter.value;
          else
            run.counters[name] = counter.value;
      }
      runs.push_back(run);
      if (on_run_) on_run_(run);
    }
  }

  std::vector<BenchmarkRun> runs;

 private:
  const std::function<void(const BenchmarkRun&)>& on_run_;
};

}  // namespace

double BenchmarkRun::rate() const {
  if (!error.empty()) return 0;
  if (items_per_second > 0) return items_per_second;
  return seconds_per_iteration > 0 ? 1.0 / seconds_per_iteration : 0;
}

void split_benchmark_name(const std::string& name, std::string& what, std::string& device) {
  const auto first = name.find('/');
  if (first == std::string::npos) {
    what = name;
    device.clear();
    return;
  }
  const auto second = name.find('/', first + 1);
  device =
      name.substr(first + 1, second == std::string::npos ? std::string::npos : second - first - 1);
  what = name.substr(0, first) + (second == std::string::npos ? "" : name.substr(second));
}

std::vector<BenchmarkRun> run_registered_benchmarks(
    const std::function<void(const BenchmarkRun&)>& on_run) {
  CollectingReporter reporter(on_run);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::ClearRegisteredBenchmarks();
  return reporter.runs;
}

double BenchmarkComparison::speedup(const std::string& faster, const std::string& baseline) const {
  const auto f = by_device.find(faster), b = by_device.find(baseline);
  if (f == by_device.end() || b == by_device.end()) return 0;
  const double base = b->second.rate();
  return base > 0 ? f->second.rate() / base : 0;
}

std::vector<BenchmarkComparison> compare_devices(const std::vector<BenchmarkRun>& runs) {
  std::vector<BenchmarkComparison> rows;
  std::map<std::string, size_t> row_of;
  for (const auto& run : runs) {
    auto [it, inserted] = row_of.emplace(run.what, rows.size());
    if (inserted) rows.push_back({run.what, run.unit, {}});
    rows[it->second].by_device[run.device] = run;
  }
  return rows;
}

}  // namespace polyphony::cli
