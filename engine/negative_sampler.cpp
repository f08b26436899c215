#include "engine/negative_sampler.h"

#include <ATen/ATen.h>

namespace polyphony {

UniformNegativeSampler::UniformNegativeSampler(const UserItemIndex& train)
    : indptr_(train.indptr()), num_items_(train.num_items()) {
  const auto& indptr = train.indptr();
  auto counts = indptr.narrow(0, 1, train.num_users()) - indptr.narrow(0, 0, train.num_users());
  auto user_of_entry = at::repeat_interleave(at::arange(train.num_users(), indptr.options()),
                                             counts, 0, train.nnz());
  auto rank_in_user =
      at::arange(train.nnz(), indptr.options()) - indptr.index_select(0, user_of_entry);
  adjusted_keys_ = user_of_entry * num_items_ + (train.items() - rank_in_user);
}

at::Tensor UniformNegativeSampler::sample(const at::Tensor& users, int64_t n) const {
  auto start = indptr_.index_select(0, users);
  auto positives = indptr_.index_select(0, users + 1) - start;
  auto available = (num_items_ - positives).clamp_min(1).unsqueeze(1);  // [B, 1]
  // Double precision keeps the floor exact for catalogues far beyond 2^24 items.
  auto r =
      (at::rand({users.size(0), n}, users.options().dtype(at::kDouble)) * available.to(at::kDouble))
          .floor()
          .to(at::kLong);
  r = at::minimum(r, available - 1);
  auto queries = users.unsqueeze(1) * num_items_ + r;
  auto j = at::searchsorted(adjusted_keys_, queries, /*out_int32=*/false, /*right=*/true) -
           start.unsqueeze(1);
  return r + j;
}

}  // namespace polyphony
