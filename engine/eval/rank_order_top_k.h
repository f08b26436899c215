#pragma once
// The k best entries of each row of a score matrix in the order `recommend` lists them: by score,
// highest first, equal scores to the lower index, NaN above every number (as a descending sort
// puts it). The rule fixes which items make a cut-off that falls inside a run of equal scores, so
// the lists do not depend on the row length, the cut-offs asked for, the chunking or the device.

#include <cstdint>

#include <ATen/core/Tensor.h>

namespace polyphony {

// `scores` float [R, N], 1 <= k <= N. Returns int64 [R, k], best first. On the CPU, one pass over
// each row keeping the candidates above a rising bar (rows in parallel); elsewhere
// rank_order_top_k_by_topk.
at::Tensor rank_order_top_k(const at::Tensor& scores, int64_t k);

// The same lists from at::topk: the path for devices where it is fast (CUDA), public so that the
// two are tested against each other.
at::Tensor rank_order_top_k_by_topk(const at::Tensor& scores, int64_t k);

}  // namespace polyphony
