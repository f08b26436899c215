#include "engine/data/negative_sampler.h"

#include <ATen/ATen.h>

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

at::Tensor NegativeSampler::sample(const at::Tensor& users, int64_t n) const {
  return draw_negatives(tables(), users, n);
}

DrawnBatch NegativeSampler::draw_batch(const at::Tensor& order, int64_t first, int64_t count,
                                       const at::Tensor& users, const at::Tensor& items,
                                       int64_t n) const {
  return draw_training_batch(tables(), order, first, count, users, items, n);
}

DrawnBatch NegativeSampler::draw_batch(const at::Tensor& order, const at::Tensor& first,
                                       int64_t count, const at::Tensor& users,
                                       const at::Tensor& items, int64_t n) const {
  return draw_training_batch(tables(), order, first, count, users, items, n);
}

NegativeDrawTables NegativeSampler::tables() const {
  return {indptr_,     keys_,   positive_mass_, user_mass_, cumulative_,
          total_mass_, stride_, num_items_,     uniform_};
}

}  // namespace polyphony
