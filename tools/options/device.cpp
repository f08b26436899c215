#include "tools/options/device.h"

#include <algorithm>
#include <thread>

#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <torch/cuda.h>
#ifdef POLYPHONY_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <cuda_runtime_api.h>
#endif

#include "common/error.h"
#include "kernels/cpu_capability.h"

namespace polyphony::cli {

c10::Device resolve_device(const std::string& option) {
  const bool cuda = torch::cuda::is_available();
  if (option == "auto") return cuda ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU);
  if (option == "cpu") return c10::Device(c10::kCPU);
  if (option.rfind("cuda", 0) == 0) {
    if (!cuda) fail("--device {}: no CUDA device is available on this machine", option);
    try {
      c10::Device device(option);
      if (device.index() >= static_cast<int>(torch::cuda::device_count()))
        fail("--device {}: this machine has {} CUDA device(s)", option,
             torch::cuda::device_count());
      return device;
    } catch (const c10::Error&) {
      fail("--device '{}': expected auto, cpu, cuda or cuda:N", option);
    }
  }
  fail("--device '{}': expected auto, cpu, cuda or cuda:N", option);
}

std::string describe_device(const c10::Device& device) {
  if (!device.is_cuda())
    return fmt::format("CPU, {} threads, {} kernels (this CPU: {})", at::get_num_threads(),
                       kernels::cpu_capability_name(kernels::cpu_capability()),
                       kernels::cpu_capability_name(kernels::detected_cpu_capability()));
#ifdef POLYPHONY_WITH_CUDA
  cudaDeviceProp properties{};
  if (cudaGetDeviceProperties(&properties, std::max<int>(0, device.index())) == cudaSuccess)
    return fmt::format("{}, {:.0f} GiB, compute capability {}.{}", properties.name,
                       static_cast<double>(properties.totalGlobalMem) / (1 << 30), properties.major,
                       properties.minor);
#endif
  return fmt::format("CUDA device {}", std::max<int>(0, device.index()));
}

std::optional<double> take_peak_cuda_memory_mb(const c10::Device& device) {
  if (!device.is_cuda()) return std::nullopt;
#ifdef POLYPHONY_WITH_CUDA
  namespace allocator = c10::cuda::CUDACachingAllocator;
  const auto index = static_cast<c10::DeviceIndex>(std::max<int>(0, device.index()));
  const auto stats = allocator::getDeviceStats(index);
  allocator::resetPeakStats(index);
  const auto aggregate = static_cast<size_t>(c10::CachingAllocator::StatType::AGGREGATE);
  return static_cast<double>(stats.allocated_bytes[aggregate].peak) / (1 << 20);
#else
  return std::nullopt;
#endif
}

int set_cpu_threads(int requested) {
  if (requested < 1) fail("--threads must be at least 1 (got {})", requested);
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  int threads = requested;
  if (requested > cores) {
    fmt::print(stderr, "--threads {}: this machine has {} cores; using {}\n", requested, cores,
               cores);
    threads = cores;
  }
  at::set_num_threads(threads);
  return threads;
}

}  // namespace polyphony::cli
