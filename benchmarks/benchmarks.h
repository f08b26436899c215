#pragma once
// The benchmark groups (Google Benchmark), shared by build/benchmarks/polyphony_benchmarks
//   polyphony_benchmarks [--benchmark_filter=REGEX] [--benchmark_format=json]
// and by `polyphony bench`. Every name reads `<what>/<device>/<sizes>`, so the same benchmark
// on two devices differs only in its second part.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <c10/core/Device.h>
#include <nlohmann/json.hpp>

#include "engine/data/negative_sampler.h"
#include "engine/eval/evaluator.h"
#include "engine/train/trainer.h"

namespace polyphony {

struct PreparedData;

// Records the rate unit of the benchmark `name` (register_benchmark does).
void declare_rate_unit(const std::string& name, const std::string& unit);
// The rate unit declared for the benchmark `name`; "calls/s" for one registered without.
std::string rate_unit(const std::string& name);

// The operators per step of the training benchmark `name`, by operator name (nested calls
// included), as its run counted them; empty for a benchmark that counted none.
void record_operator_profile(const std::string& name, std::map<std::string, double> per_step);
std::map<std::string, double> operator_profile(const std::string& name);

// Registers `function(state, args...)` as the benchmark `name`, timed in wall-clock milliseconds.
// `unit` says what its rate counts: the items it processes per second ("interactions/s"), or
// its iterations per second when it counts none ("calls/s"); `polyphony bench` shows it.
template <typename Function, typename... Args>
benchmark::internal::Benchmark* register_benchmark(const std::string& name, const std::string& unit,
                                                   Function function, Args... args) {
  declare_rate_unit(name, unit);
  return benchmark::RegisterBenchmark(name.c_str(), function, args...)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
}

// The CPU and, when one is present, the first CUDA device.
std::vector<c10::Device> benchmark_devices();

// "cpu" or "cuda": the device part of a benchmark name.
std::string device_label(const c10::Device& device);

// The training settings a benchmark runs on `device`: `options` on the CPU; on CUDA with eager
// steps and with the step captured as a CUDA graph (a "/graph" benchmark), side by side.
std::vector<TrainerOptions> training_variants(const TrainerOptions& options,
                                              const c10::Device& device);

// Problem sizes of the kernel benchmarks.
struct KernelSizes {
  int64_t topk_rows;       // rows filtered against 128 prototypes of dimension 64
  int64_t spectral_batch;  // 64×64 matrices whose spectral norm is estimated together
  int64_t sigma_users;     // factors of σ₁(U Vᵀ), dimension 64
  int64_t sigma_items;

  // The kernels issue's GPU sizes, and a tenth of the rows for the CPU.
  static KernelSizes gpu();
  static KernelSizes cpu();
};

// Each custom kernel (forward + backward where it has one) and its plain-torch reference.
std::vector<benchmark::internal::Benchmark*> register_kernel_benchmarks(const c10::Device& device,
                                                                        const KernelSizes& sizes,
                                                                        std::vector<int64_t> ks);

// File parsing, dataset loading, negative sampling and synthetic generation.
void register_data_benchmarks();

// Full-ranking and sampled evaluation at MovieLens-1M's shape with a random MF model.
void register_evaluation_benchmarks(const c10::Device& device);

// A model to benchmark: its registry name and options (empty: the model's defaults).
struct BenchmarkModel {
  std::string name;
  nlohmann::json options = nlohmann::json::object();
};

// The epochs of one training run of `model` on `data`'s training split with negatives from
// `sampler`, after its first (one-time setup): items/s counts the training interactions. `name`
// labels the data in the benchmark name.
benchmark::internal::Benchmark* register_training_benchmark(
    std::shared_ptr<const PreparedData> data, const std::string& name, const BenchmarkModel& model,
    const TrainerOptions& options, const c10::Device& device,
    const SamplerOptions& sampler = SamplerOptions{});

// One full-ranking evaluation of `model` (untrained) on `data`'s test split with every metric:
// items/s counts the evaluated users.
benchmark::internal::Benchmark* register_model_evaluation_benchmark(
    std::shared_ptr<const PreparedData> data, const std::string& name, const BenchmarkModel& model,
    const EvaluatorOptions& options, const c10::Device& device);

// Training of mf, uiprotomf and lightgcn on the built-in dataset, on every benchmark device.
void register_demo_training_benchmarks();

}  // namespace polyphony
