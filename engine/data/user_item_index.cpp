#include "engine/data/user_item_index.h"

#include <ATen/ATen.h>

namespace polyphony {

UserItemIndex::UserItemIndex(const Interactions& interactions, int64_t num_users, int64_t num_items)
    : num_users_(num_users), num_items_(num_items) {
  auto options = at::TensorOptions().dtype(at::kLong);
  if (interactions.size() == 0) {
    indptr_ = at::zeros({num_users + 1}, options);
    items_ = at::empty({0}, options);
    return;
  }
  // One sort of user * num_items + item orders by user, then item; unique drops duplicates.
  auto keys = std::get<0>(
      at::_unique(interactions.users.to(at::kCPU) * num_items + interactions.items.to(at::kCPU),
                  /*sorted=*/true));
  auto users = keys.div(num_items, "floor");
  items_ = keys.remainder(num_items);
  indptr_ = at::cat({at::zeros({1}, options), at::bincount(users, {}, num_users).cumsum(0)});
}

UserItemIndex UserItemIndex::to(const at::Device& device) const {
  UserItemIndex copy = *this;
  copy.indptr_ = indptr_.to(device);
  copy.items_ = items_.to(device);
  return copy;
}

at::Tensor UserItemIndex::counts_of(const at::Tensor& users) const {
  return indptr_.index_select(0, users + 1) - indptr_.index_select(0, users);
}

std::pair<at::Tensor, at::Tensor> UserItemIndex::entries_of(const at::Tensor& users) const {
  auto starts = indptr_.index_select(0, users);
  auto counts = indptr_.index_select(0, users + 1) - starts;
  auto offsets = counts.cumsum(0) - counts;  // exclusive prefix sum: first entry of each row
  const int64_t total = counts.sum().item<int64_t>();
  auto rows = at::repeat_interleave(at::arange(users.size(0), users.options()), counts, 0, total);
  auto positions = at::arange(total, users.options()) - offsets.index_select(0, rows) +
                   starts.index_select(0, rows);
  return {rows, items_.index_select(0, positions)};
}

}  // namespace polyphony
