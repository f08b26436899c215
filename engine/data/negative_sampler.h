#pragma once
// Negative items for training, drawn in bulk on the training device with no host round trip and
// no rejection loop: exactly from the chosen distribution restricted to the items the user has
// not interacted with in training.

#include <cstdint>
#include <optional>
#include <string>

#include <ATen/core/Tensor.h>

#include "engine/data/user_item_index.h"
#include "kernels/negative_draws.h"

namespace polyphony {

struct SamplerOptions {
  /// Exponent α of popularity^α; absent: uniform.
  std::optional<double> popularity_exponent;
  std::string spec() const;
};

// Each item carries an integer mass m_i (1 for uniform; popularity^α scaled to integers for
// popularity sampling). Laid end to end, the user's non-positive items cover [0, M − W_u), with
// W_u the mass of the user's positives. A uniform integer r in that range is mapped back to the
// full line by adding the mass of the positives that precede it: with the user's sorted
// positives p_k, key_k = (mass before p_k) − (mass of p_0..p_{k−1}) is non-decreasing, so one
// binary search among the user's keys counts them (stored as u · (M + 1) + key_k, one array for
// all users). Integer arithmetic keeps the mapping exact: a positive is never returned.
class NegativeSampler {
 public:
  // Uniform over each user's non-training items. `train` is on the device samples are wanted on.
  static NegativeSampler uniform(const UserItemIndex& train);
  // Proportional to popularity^alpha (training interactions per item), over each user's
  // non-training items; items with no training interaction are never drawn when alpha > 0.
  static NegativeSampler popularity(const UserItemIndex& train, double alpha);
  static NegativeSampler create(const SamplerOptions& options, const UserItemIndex& train);

  // users [B] -> negatives [B, n]. A user without any negative item (or whose negatives all have
  // zero mass) gets uniform random items: there is nothing else to give. One kernel
  // (kernels/negative_draws.h), keyed by the device's default generator.
  at::Tensor sample(const at::Tensor& users, int64_t n) const;
  // A training batch: rows order[first .. first + count) of the training entries (users, items
  // [N], on the sampler's device), each row's user, and its positive followed by n negatives.
  DrawnBatch draw_batch(const at::Tensor& order, int64_t first, int64_t count,
                        const at::Tensor& users, const at::Tensor& items, int64_t n) const;
  // The same with `first` an int64 scalar on the device (a captured CUDA graph's input).
  DrawnBatch draw_batch(const at::Tensor& order, const at::Tensor& first, int64_t count,
                        const at::Tensor& users, const at::Tensor& items, int64_t n) const;
  // users [B] -> bool [B]: whether the user has a negative item to draw (one not among their
  // training items, with mass > 0).
  at::Tensor has_negatives(const at::Tensor& users) const;

  // For logs and configs, e.g. "popularity^0.75 over non-training items".
  const std::string& description() const { return description_; }

 private:
  NegativeSampler(const UserItemIndex& train, at::Tensor mass, std::string description);
  NegativeDrawTables tables() const;

  at::Tensor indptr_;         // [U + 1]
  at::Tensor keys_;           // [nnz]: u * stride + key_k, non-decreasing
  at::Tensor positive_mass_;  // [nnz]: mass of the user's positives up to and including k
  at::Tensor user_mass_;      // [U]: mass of the user's positives W_u
  at::Tensor cumulative_;     // [I]: inclusive prefix sum of the item masses
  at::Tensor mass_;           // [I]: integer mass of each item
  int64_t total_mass_ = 0;    // M
  int64_t stride_ = 0;        // M + 1
  int64_t num_items_ = 0;
  bool uniform_ = false;
  std::string description_;
};

}  // namespace polyphony
