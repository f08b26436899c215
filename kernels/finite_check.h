#pragma once
// Whether every value of some tensors is finite, in one pass over their memory and one answer on
// the host: the trainer's check of its parameters at each check point. An embedding table of
// millions of rows is hundreds of MB; this reads it once and makes no temporary.

#include <vector>

#include <ATen/core/Tensor.h>

namespace polyphony {

// Floating tensors (float32 or float64) on one device; no tensors: true.
bool all_finite(const std::vector<at::Tensor>& tensors);

}  // namespace polyphony
