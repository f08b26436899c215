#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include "benchmarks/benchmarks.h"

int main(int argc, char** argv) {
  torch::manual_seed(0);
  polyphony::register_kernel_benchmarks();
  polyphony::register_data_benchmarks();
  polyphony::register_evaluation_benchmarks();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
