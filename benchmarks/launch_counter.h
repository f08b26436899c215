#pragma once
// Counts what a piece of work asks of the device, with PyTorch's own profiler (Kineto): the
// ATen operators it dispatches and, on CUDA, the kernels it launches and the host-device
// synchronisations it makes. The models issue asks for kernel launches per training step.

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include <c10/core/Device.h>

namespace polyphony {

struct LaunchCounts {
  int64_t operators = 0;         // ATen operator calls, nested ones included
  int64_t kernels = 0;           // kernels run on the CUDA device (0 on the CPU)
  int64_t synchronizations = 0;  // host waits on the CUDA device, the final one included
  std::map<std::string, int64_t> operators_by_name;  // e.g. "aten::index_select" -> 3
};

// Runs `work` under the profiler and counts its events; waits for the device before counting.
LaunchCounts count_launches(const std::function<void()>& work, const c10::Device& device);

}  // namespace polyphony
