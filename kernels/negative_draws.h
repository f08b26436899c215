#pragma once
// A training batch in one kernel: the rows of an epoch's order, their users and positives, and
// negatives drawn for each row from the sampler's distribution (engine/data/negative_sampler.h),
// with no host round trip and no rejection loop. The random numbers come from a counter-based
// generator (Philox) keyed by the default generator of the device: one 64-bit value of the CPU
// generator per call, or the CUDA generator's Philox state, which stays valid under CUDA graph
// capture (each replay draws anew). The same key gives the same items on the CPU and CUDA.

#include <cstdint>

#include <ATen/core/Tensor.h>

namespace polyphony {

// The sampler's tables, on the device the draws are made on (NegativeSampler documents them).
struct NegativeDrawTables {
  at::Tensor indptr;         // int64 [U + 1]
  at::Tensor keys;           // int64 [nnz]
  at::Tensor positive_mass;  // int64 [nnz]
  at::Tensor user_mass;      // int64 [U]
  at::Tensor cumulative;     // int64 [I]
  int64_t total_mass = 0;
  int64_t stride = 0;
  int64_t num_items = 0;
  bool uniform = true;
};

struct DrawnBatch {
  at::Tensor users;  // int64 [B]
  at::Tensor items;  // int64 [B, 1 + n]: each row's positive, then its negatives
};

// Rows order[first .. first + count) of the training entries (users, items), each with
// `negatives` negatives. Every id must be valid for the tables (they come from the same index).
DrawnBatch draw_training_batch(const NegativeDrawTables& tables, const at::Tensor& order,
                               int64_t first, int64_t count, const at::Tensor& users,
                               const at::Tensor& items, int64_t negatives);

// The same with the first row given on the device (an int64 scalar), so that a captured CUDA graph
// draws the batch a host write of `first` chose before each replay. The caller keeps `first` in
// [0, N − count]: it is not read on the host.
DrawnBatch draw_training_batch(const NegativeDrawTables& tables, const at::Tensor& order,
                               const at::Tensor& first, int64_t count, const at::Tensor& users,
                               const at::Tensor& items, int64_t negatives);

// users [B] -> negatives [B, n], drawn as above.
at::Tensor draw_negatives(const NegativeDrawTables& tables, const at::Tensor& users, int64_t n);

}  // namespace polyphony
