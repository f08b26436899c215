#include "engine/data/negative_sampler.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "common/error.h"

namespace polyphony {

NegativeSampler NegativeSampler::uniform(const UserItemIndex& train) {
  return NegativeSampler(train, at::ones({train.num_items()}, train.indptr().options()),
                         "uniform over non-training items");
}

NegativeSampler NegativeSampler::popularity(const UserItemIndex& train, double alpha) {
  if (!(alpha >= 0 && std::isfinite(alpha)))
    fail("`sampler` popularity:{}: the exponent must be non-negative", alpha);
  const auto counts =
      at::bincount(train.items().to(at::kCPU), {}, train.num_items()).to(at::kDouble);
  auto weight = alpha == 0 ? at::ones_like(counts) : at::pow(counts, alpha);
  // Integer masses: the total is as large as the per-user key offsets allow (≤ 2^40), so the
  // relative rounding error of any item with mass is below 2^-40 · I.
  const double users = static_cast<double>(train.num_users() + 1);
  const double total = std::min(std::ldexp(1.0, 40), std::ldexp(1.0, 62) / users);
  const double sum = weight.sum().item<double>();
  if (sum <= 0) fail("`sampler` popularity: no item has training interactions");
  auto mass = (weight * (total / sum)).round().to(at::kLong);
  mass = at::where((weight > 0) & (mass == 0), at::ones_like(mass), mass);
  return NegativeSampler(train, mass.to(train.indptr().device()),
                         fmt::format("popularity^{:g} over non-training items", alpha));
}

std::string SamplerOptions::spec() const {
  return popularity_exponent ? fmt::format("popularity:{:g}", *popularity_exponent) : "uniform";
}

NegativeSampler NegativeSampler::create(const SamplerOptions& options, const UserItemIndex& train) {
  return options.popularity_exponent ? popularity(train, *options.popularity_exponent)
                                     : uniform(train);
}

NegativeSampler::NegativeSampler(const UserItemIndex& train, at::Tensor mass,
                                 std::string description)
    : indptr_(train.indptr()),
      mass_(std::move(mass)),
      num_items_(train.num_items()),
      description_(std::move(description)) {
  uniform_ = (mass_ == 1).all().item<bool>();
  cumulative_ = mass_.cumsum(0);
  total_mass_ = num_items_ ? cumulative_[-1].item<int64_t>() : 0;
  stride_ = total_mass_ + 1;
  const int64_t users = train.num_users();
  const int64_t limit = std::numeric_limits<int64_t>::max() / std::max<int64_t>(users, 1);
  if (stride_ > limit)
    fail("negative sampler: {} users × total item mass {} overflow 64-bit keys", users,
         total_mass_);

  auto counts = indptr_.narrow(0, 1, users) - indptr_.narrow(0, 0, users);
  auto user_of_entry =
      at::repeat_interleave(at::arange(users, indptr_.options()), counts, 0, train.nnz());
  // Mass of the user's positives up to and including each entry (items are sorted per user).
  auto entry_mass = mass_.index_select(0, train.items());
  auto running = entry_mass.cumsum(0);
  auto exclusive = running - entry_mass;
  const int64_t nnz = train.nnz();
  // Users without entries are clamped onto a neighbour's offset; no entry refers to them.
  auto offset = nnz ? exclusive.index_select(0, indptr_.narrow(0, 0, users).clamp_max(nnz - 1))
                    : at::zeros({users}, indptr_.options());
  positive_mass_ = running - offset.index_select(0, user_of_entry);
  user_mass_ = at::zeros({users}, indptr_.options()).index_add_(0, user_of_entry, entry_mass);
  auto mass_before_item = cumulative_.index_select(0, train.items()) - entry_mass;
  keys_ = user_of_entry * stride_ + (mass_before_item - (positive_mass_ - entry_mass));
}

at::Tensor NegativeSampler::has_negatives(const at::Tensor& users) const {
  return user_mass_.index_select(0, users) < total_mass_;
}

at::Tensor NegativeSampler::positives_before(const at::Tensor& users, const at::Tensor& start,
                                             const at::Tensor& r) const {
  if (!keys_.device().is_cpu())
    return at::searchsorted(keys_, users.unsqueeze(1) * stride_ + r, /*out_int32=*/false,
                            /*right=*/true) -
           start.unsqueeze(1);
  // On the CPU a binary search within the user's own keys (a few hundred, close together) rather
  // than over every user's (megabytes, a cache miss per step): the same count, as the user's keys
  // are the only ones between u · stride and u · stride + r.
  auto out = at::empty_like(r);
  const auto u = users.contiguous(), first = start.contiguous(), draws = r.contiguous();
  const int64_t* user = u.data_ptr<int64_t>();
  const int64_t* begin = first.data_ptr<int64_t>();
  const int64_t* indptr = indptr_.data_ptr<int64_t>();
  const int64_t* keys = keys_.data_ptr<int64_t>();
  const int64_t* draw = draws.data_ptr<int64_t>();
  int64_t* count = out.data_ptr<int64_t>();
  const int64_t n = r.size(1);
  at::parallel_for(0, r.size(0), 64, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t* own = keys + begin[b];
      const int64_t* own_end = keys + indptr[user[b] + 1];
      for (int64_t k = b * n; k < (b + 1) * n; ++k)
        count[k] = std::upper_bound(own, own_end, user[b] * stride_ + draw[k]) - own;
    }
  });
  return out;
}

at::Tensor NegativeSampler::sample(const at::Tensor& users, int64_t n) const {
  auto start = indptr_.index_select(0, users);
  auto available = (total_mass_ - user_mass_.index_select(0, users)).unsqueeze(1);  // [B, 1]
  auto fallback = available <= 0;
  available = available.clamp_min(1);
  // Double precision keeps the floor exact for masses up to 2^53.
  auto r =
      (at::rand({users.size(0), n}, users.options().dtype(at::kDouble)) * available.to(at::kDouble))
          .floor()
          .to(at::kLong);
  r = at::minimum(r, available - 1);
  const auto j = positives_before(users, start, r);
  at::Tensor items;
  if (uniform_) {
    items = r + j;
  } else {
    auto preceding = at::where(
        j > 0,
        positive_mass_.index_select(0, (start.unsqueeze(1) + j - 1).clamp_min(0).flatten())
            .view_as(j),
        at::zeros_like(j));
    items = at::searchsorted(cumulative_, r + preceding, /*out_int32=*/false, /*right=*/true);
  }
  auto anything = at::randint(num_items_, items.sizes(), items.options());
  return at::where(fallback, anything, items.clamp_max(num_items_ - 1));
}

}  // namespace polyphony
