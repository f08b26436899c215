#pragma once
// Each user's items in compressed sparse rows (CSR), sorted by item: the structure behind
// masking seen items in evaluation and excluding positives in negative sampling.

#include <cstdint>
#include <utility>

#include <ATen/core/Tensor.h>

#include "engine/data/dataset.h"

namespace polyphony {

class UserItemIndex {
 public:
  UserItemIndex() = default;
  // Builds the index of `interactions` (duplicates are kept once).
  UserItemIndex(const Interactions& interactions, int64_t num_users, int64_t num_items);

  // The same index on `device`.
  UserItemIndex to(const at::Device& device) const;

  // Entries of the listed users: (row, item) with row the position in `users` [C].
  std::pair<at::Tensor, at::Tensor> entries_of(const at::Tensor& users) const;
  // Number of items of each listed user: [C].
  at::Tensor counts_of(const at::Tensor& users) const;

  const at::Tensor& indptr() const { return indptr_; }  // int64 [num_users + 1]
  const at::Tensor& items() const { return items_; }    // int64 [nnz]
  int64_t num_users() const { return num_users_; }
  int64_t num_items() const { return num_items_; }
  int64_t nnz() const { return items_.defined() ? items_.numel() : 0; }

 private:
  at::Tensor indptr_;
  at::Tensor items_;
  int64_t num_users_ = 0;
  int64_t num_items_ = 0;
};

}  // namespace polyphony
