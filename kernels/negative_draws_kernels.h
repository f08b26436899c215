#pragma once
// Raw kernels of the training batch draw (kernels/negative_draws.h): no Torch types. Every array
// is int64, row-major and contiguous.

#include <cstdint>

#include "kernels/common.h"

namespace polyphony::kernels {

// The sampler's tables (engine/data/negative_sampler.h explains them): the user's positives are
// entries indptr[u] .. indptr[u + 1] of `keys` (u · stride + the key of the entry, non-decreasing)
// and `positive_mass` (the mass of the user's positives up to and including the entry);
// `user_mass` [U] is the mass of each user's positives, `cumulative` [I] the inclusive prefix sum
// of the item masses (read only when `uniform` is false).
struct NegativeTables {
  const int64_t* indptr = nullptr;
  const int64_t* keys = nullptr;
  const int64_t* positive_mass = nullptr;
  const int64_t* user_mass = nullptr;
  const int64_t* cumulative = nullptr;
  int64_t total_mass = 0;
  int64_t stride = 0;
  int64_t num_items = 0;
  bool uniform = true;
};

// Where a batch's rows come from: row b is entry s = order[first + b] (s = first + b when `order`
// is null) of `users`, and of `items` when it is given (the row's positive). With
// `first_pointer`, `first` is read there, on the device of the draw (a replayed CUDA graph's
// batch position).
struct BatchSource {
  const int64_t* order = nullptr;
  int64_t first = 0;
  const int64_t* first_pointer = nullptr;
  const int64_t* users = nullptr;
  const int64_t* items = nullptr;
};

struct DrawSizes {
  int64_t rows = 0;       // B
  int64_t negatives = 0;  // n per row
};

// The key of the Philox counter-based generator every draw uses (ATen's philox_engine, the same
// on the CPU and CUDA): draw (b, j) reads subsequence b · n + j at block offset /
// kRandomValuesPerDraw (`offset` counts 32-bit values, as PyTorch's generators do). Under CUDA
// graph capture the seed and the offset are read on the device, at seed_pointer and at
// offset_pointer plus offset_in_graph, so that each replay draws anew (PyTorch's PhiloxCudaState).
struct RandomKey {
  uint64_t seed = 0;
  uint64_t offset = 0;
  const int64_t* seed_pointer = nullptr;
  const int64_t* offset_pointer = nullptr;
  uint64_t offset_in_graph = 0;
};

// out_users [B] gets each row's user; out_items [B, k + n] (k = 1 with `source.items`, else 0)
// each row's positive, then n negatives drawn from the item masses restricted to the items the
// user has no training entry for (uniform over all items for a user without any). Draw (b, j)
// takes a uniform r from the first two 32-bit values of its Philox block as a 53-bit fraction.
void draw_batch_cpu(const BatchSource& source, const NegativeTables& tables, const DrawSizes& sizes,
                    const RandomKey& key, int64_t* out_users, int64_t* out_items);
void draw_batch_cuda(const BatchSource& source, const NegativeTables& tables,
                     const DrawSizes& sizes, const RandomKey& key, int64_t* out_users,
                     int64_t* out_items, Stream stream);

// The 32-bit values one draw consumes from the generator's offset (a whole Philox block).
constexpr uint64_t kRandomValuesPerDraw = 4;

}  // namespace polyphony::kernels
