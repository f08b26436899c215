#pragma once

#include <string>

#include <c10/core/Device.h>

namespace polyphony::cli {

// --device auto|cpu|cuda[:N]: auto picks CUDA when a device is present; asking for CUDA on a
// machine without one is an error.
c10::Device resolve_device(const std::string& option);

// A line naming the hardware behind `device`: the CPU's threads, the GPU's name and memory.
std::string describe_device(const c10::Device& device);

}  // namespace polyphony::cli
