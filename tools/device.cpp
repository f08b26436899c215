#include "tools/device.h"

#include <torch/cuda.h>

#include "common/error.h"

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

}  // namespace polyphony::cli
