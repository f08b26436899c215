#pragma once

#include <optional>
#include <string>

#include <c10/core/Device.h>

namespace polyphony::cli {

// --device auto|cpu|cuda[:N]: auto picks CUDA when a device is present; asking for CUDA on a
// machine without one is an error.
c10::Device resolve_device(const std::string& option);

// Sets the CPU threads of intra-op parallelism (--threads N, N ≥ 1). More threads than the
// machine's cores only slow it down, so N is capped there, with a line on stderr saying so.
// Returns the threads set.
int set_cpu_threads(int requested);

// A line naming the hardware behind `device`: the CPU's threads and the compilation its kernels
// run (kernels/cpu_capability.h), the GPU's name and memory.
std::string describe_device(const c10::Device& device);

// The most memory tensors held on CUDA `device` since the previous call (MiB, as the caching
// allocator counts it), starting a new peak; none for the CPU.
std::optional<double> take_peak_cuda_memory_mb(const c10::Device& device);

}  // namespace polyphony::cli
