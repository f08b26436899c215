#pragma once
// The devices a parity suite runs on: the CPU always, CUDA when a device is present (CUDA cases
// are skipped, saying so, on machines without one). A kernel's suite also runs the CPU once per
// compilation of the CPU kernels (kernels/cpu_capability.h) that this machine can run.

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <optional>
#include <string>
#include <vector>

#include "kernels/cpu_capability.h"

namespace polyphony::testing {

inline std::vector<std::string> test_devices() { return {"cpu", "cuda"}; }

// Skips the running test when `device` is CUDA and none is available.
#define POLYPHONY_SKIP_WITHOUT(device)                                                     \
  do {                                                                                     \
    if ((device).is_cuda() && !torch::cuda::is_available())                                \
      GTEST_SKIP()                                                                         \
          << "no CUDA device on this machine: the CUDA case runs in scripts/gpu_build.sh"; \
  } while (0)

// The targets of a kernel's parity suite: "cpu_baseline", "cpu_avx2", "cpu_avx512" and "cuda".
inline std::vector<std::string> kernel_test_targets() {
  std::vector<std::string> out;
  for (const auto c : {kernels::CpuCapability::kBaseline, kernels::CpuCapability::kAvx2,
                       kernels::CpuCapability::kAvx512})
    out.push_back(fmt::format("cpu_{}", kernels::cpu_capability_name(c)));
  out.push_back("cuda");
  return out;
}

// One kernel target for the duration of a test: its device, and for a CPU target the CPU
// kernels' compilation, chosen while the object lives. `unavailable` says why this machine cannot
// run the target (empty when it can).
class KernelTarget {
 public:
  explicit KernelTarget(const std::string& name)
      : device(name == "cuda" ? torch::kCUDA : torch::kCPU) {
    if (device.is_cuda()) {
      if (!torch::cuda::is_available())
        unavailable = "no CUDA device on this machine: the CUDA case runs in scripts/gpu_build.sh";
      return;
    }
    const auto wanted = kernels::parse_cpu_capability(name.substr(4), "kernel test target");
    if (static_cast<int>(wanted) > static_cast<int>(kernels::detected_cpu_capability())) {
      unavailable = fmt::format("this CPU cannot run the {} compilation of the CPU kernels",
                                kernels::cpu_capability_name(wanted));
      return;
    }
    previous_ = kernels::cpu_capability();
    kernels::set_cpu_capability(wanted);
  }
  ~KernelTarget() {
    if (previous_) kernels::set_cpu_capability(*previous_);
  }
  KernelTarget(const KernelTarget&) = delete;
  KernelTarget& operator=(const KernelTarget&) = delete;

  torch::Device device;
  std::string unavailable;

 private:
  std::optional<kernels::CpuCapability> previous_;
};

// Declares `target` for the test's kernel target `name` and skips the test, saying why, when this
// machine cannot run it.
#define POLYPHONY_KERNEL_TARGET(target, name)            \
  const ::polyphony::testing::KernelTarget target(name); \
  if (!(target).unavailable.empty()) GTEST_SKIP() << (target).unavailable

}  // namespace polyphony::testing
