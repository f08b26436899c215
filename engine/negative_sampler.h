#pragma once
// Negative items for training, drawn in bulk on the training device with no host round trip.

#include <cstdint>

#include <ATen/core/Tensor.h>

#include "engine/user_item_index.h"

namespace polyphony {

// Uniform over the items a user has not interacted with in training, exactly: the r-th
// non-positive item of user u is r + j, where j counts the user's sorted positives p_k with
// p_k − k ≤ r, so one searchsorted over all users' adjusted keys maps uniform ranks to items.
// No rejection loop, no host synchronisation.
class UniformNegativeSampler {
 public:
  // `train` is on the device the samples are wanted on.
  explicit UniformNegativeSampler(const UserItemIndex& train);

  // users [B] -> negatives [B, n], uniform over each user's non-positive items. A user who has
  // interacted with every item gets arbitrary items (there is no negative to give).
  at::Tensor sample(const at::Tensor& users, int64_t n) const;

 private:
  at::Tensor indptr_;         // [U + 1]
  at::Tensor adjusted_keys_;  // [nnz]: u * I + (p_k − k), non-decreasing
  int64_t num_items_ = 0;
};

}  // namespace polyphony
