#pragma once
// The devices a parity suite runs on: the CPU always, CUDA when a device is present (CUDA cases
// are skipped, saying so, on machines without one).

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <vector>

namespace polyphony::testing {

inline std::vector<std::string> test_devices() { return {"cpu", "cuda"}; }

// Skips the running test when `device` is CUDA and none is available.
#define POLYPHONY_SKIP_WITHOUT(device)                                                     \
  do {                                                                                     \
    if ((device).is_cuda() && !torch::cuda::is_available())                                \
      GTEST_SKIP()                                                                         \
          << "no CUDA device on this machine: the CUDA case runs in scripts/gpu_build.sh"; \
  } while (0)

}  // namespace polyphony::testing
