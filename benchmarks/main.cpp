#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include "benchmarks/benchmarks.h"
#include "engine/run/process_memory.h"

int main(int argc, char** argv) {
  polyphony::configure_process_memory();  // as `polyphony bench` runs
  torch::manual_seed(0);
  for (const auto& device : polyphony::benchmark_devices()) {
    const auto sizes =
        device.is_cuda() ? polyphony::KernelSizes::gpu() : polyphony::KernelSizes::cpu();
    polyphony::register_kernel_benchmarks(device, sizes, {4, 16, 32});
  }
  polyphony::register_data_benchmarks();
  for (const auto& device : polyphony::benchmark_devices())
    polyphony::register_evaluation_benchmarks(device);
  polyphony::register_demo_training_benchmarks();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
