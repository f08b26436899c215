#pragma once
// Top-K recommendation lists: every item scored for each user, the excluded ones (what the user
// already has) masked, the K best kept. Users are scored in chunks, so thousands at once fit in
// a bounded amount of memory.

#include <cstdint>

#include <ATen/core/Tensor.h>

namespace polyphony {

class Recommender;
class UserItemIndex;

struct TopItems {
  at::Tensor items;   // int64 [U, K], best first; -1 where fewer than K items are left
  at::Tensor scores;  // float [U, K]; -inf where items is -1
};

// `users` [U] (dense ids, on the model's device); `exclude` may be null. Ties go to the lower
// item id.
TopItems top_items(Recommender& model, const at::Tensor& users, int64_t k,
                   const UserItemIndex* exclude, int64_t chunk_users = 1024);

}  // namespace polyphony
