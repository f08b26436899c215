#pragma once
// The benchmark groups of build/benchmarks/polyphony_benchmarks (Google Benchmark):
//   polyphony_benchmarks [--benchmark_filter=REGEX] [--benchmark_format=json]

namespace polyphony {

void register_kernel_benchmarks();
void register_data_benchmarks();
void register_evaluation_benchmarks();

}  // namespace polyphony
