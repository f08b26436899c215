#pragma once
// An upper estimate of the memory a training configuration needs, from its options alone, so
// that one that cannot fit (--dim 1000000, --negatives 100000, a trillion prototypes) is refused
// with the options named before LibTorch allocates: its own failure is an abort or an allocator
// message that names nothing the user set.

#include <cstdint>
#include <optional>
#include <string>

#include <c10/core/Device.h>

#include "tools/options/train_options.h"

namespace polyphony::cli {

struct MemoryEstimate {
  double parameter_bytes = 0;   // parameters, their gradients and two optimiser moments
  double activation_bytes = 0;  // one step: the batch's embeddings, scores and graph layers
  std::string parameters_from;  // what sizes the parameters, e.g. "(users + items) × dim 64"
  std::string step_from;        // what sizes one step, e.g. "batch 4096 × (1 + 1 negatives)"

  double total() const { return parameter_bytes + activation_bytes; }
};

MemoryEstimate estimate_training_memory(const TrainSetup& setup, int64_t users, int64_t items);

// The memory free for tensors on `device`: MemAvailable on the CPU, the free memory of a CUDA
// device; none when it cannot be told.
std::optional<double> available_memory_bytes(const c10::Device& device);

// Refuses a configuration whose estimate exceeds what `device` has free, naming the options
// that size it, both figures and the device.
void check_training_memory(const TrainSetup& setup, int64_t users, int64_t items,
                           const c10::Device& device);

}  // namespace polyphony::cli
