#pragma once
// A training step's bookkeeping in one kernel, on the training device: the epoch's sum of each
// loss term and of their total, and whether every step so far had a finite loss. Read on the host
// only at a check point (end of epoch, checkpoint, a loss report), so a step needs no host read,
// and on CUDA it can be part of a captured graph.

#include <vector>

#include <ATen/core/Tensor.h>

namespace polyphony {

// `sums` float64 [K + 1] (K = terms.size(); undefined when K is 0): sums[k] += share · terms[k],
// sums[K] += share · Σ terms. `health` float64 [2]: health[0] (1: every step so far had a finite
// total, 0: not) is cleared when Σ terms or `also_finite` (undefined: none) is not finite;
// health[1], the steps before the first non-finite one, grows by health[0]. Terms are float32 or
// float64 scalars on the device of `health`; at most 16.
void accumulate_step_terms(const at::Tensor& sums, const std::vector<at::Tensor>& terms,
                           const at::Tensor& also_finite, double share, const at::Tensor& health);

}  // namespace polyphony
