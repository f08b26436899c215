#include "engine/eval/sampled_evaluator.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "common/error.h"
#include "engine/data/negative_sampler.h"
#include "engine/eval/evaluator.h"
#include "models/recommender.h"

namespace polyphony {

SampledEvaluator::SampledEvaluator(ItemGroups groups, std::vector<int64_t> ks, int64_t negatives,
                                   at::Device device, int64_t chunk_interactions)
    : groups_(std::move(groups)),
      ks_(std::move(ks)),
      negatives_(negatives),
      device_(device),
      chunk_(chunk_interactions) {
  if (negatives_ < 1)
    fail("sampled evaluation: at least one negative per test item (got {})", negatives_);
  ks_ = sorted_cutoffs(std::move(ks_));
  if (chunk_ < 1) fail("sampled evaluation: chunk must be at least 1");
  if (groups_.group_of_item.defined()) groups_.group_of_item = groups_.group_of_item.to(device_);
}

EvaluationResult SampledEvaluator::evaluate(Recommender& model, const UserItemIndex& known,
                                            const UserItemIndex& target,
                                            const std::string& split) const {
  at::NoGradGuard no_grad;
  const int64_t num_users = target.num_users(), num_items = target.num_items();
  const auto long_opts = at::TensorOptions().dtype(at::kLong).device(device_);
  const auto double_opts = at::TensorOptions().dtype(at::kDouble).device(device_);
  // Negatives come from outside everything the user has interacted with.
  const auto target_dev = target.to(device_);
  const auto known_dev = known.to(device_);
  const Interactions all{at::cat({known_dev.entries_of(at::arange(num_users, long_opts)).first,
                                  target_dev.entries_of(at::arange(num_users, long_opts)).first}),
                         at::cat({known_dev.items(), target_dev.items()}),
                         {},
                         {}};
  // UserItemIndex is built on the CPU: the sampler must draw on the evaluation's device.
  const auto sampler =
      NegativeSampler::uniform(UserItemIndex(all, num_users, num_items).to(device_));
  const auto [t_users, t_items] = target_dev.entries_of(at::arange(num_users, long_opts));
  const int64_t n = t_users.numel();
  const auto num_k = static_cast<int64_t>(ks_.size());
  const int64_t num_groups =
      groups_.group_of_item.defined() ? static_cast<int64_t>(groups_.names.size()) : 0;

  auto rank = at::empty({n}, long_opts);
  for (int64_t begin = 0; begin < n; begin += chunk_) {
    const int64_t c = std::min(chunk_, n - begin);
    auto users = t_users.narrow(0, begin, c);
    auto items =
        at::cat({t_items.narrow(0, begin, c).unsqueeze(1), sampler.sample(users, negatives_)}, 1);
    auto scores = model.score(users, items).to(at::kFloat);
    TORCH_CHECK(scores.sizes() == items.sizes(), model.kind(), ": score returned ", scores.sizes(),
                ", expected ", items.sizes());
    // 0-based rank of the test item: negatives scored strictly higher (ties in its favour).
    rank.narrow(0, begin, c)
        .copy_((scores.narrow(1, 1, negatives_) > scores.narrow(1, 0, 1)).sum(1));
  }

  // Per interaction HR, NDCG, MRR at each K; averaged per user, then over users.
  auto r = rank.to(at::kDouble);
  auto per_user = at::zeros({num_users, num_k, 3}, double_opts);
  for (int64_t q = 0; q < num_k; ++q) {
    auto inside = (r < static_cast<double>(ks_[q])).to(at::kDouble);
    auto terms = at::stack({inside, inside / at::log2(r + 2.0), inside / (r + 1.0)}, 1);
    per_user.select(1, q).index_add_(0, t_users, terms);
  }
  auto count =
      at::zeros({num_users}, double_opts).index_add_(0, t_users, at::ones({n}, double_opts));
  auto evaluated = count > 0;
  const int64_t n_users = evaluated.sum().item<int64_t>();
  auto mean =
      (per_user.index({evaluated}) / count.index({evaluated}).view({-1, 1, 1})).sum(0).cpu() /
      static_cast<double>(std::max<int64_t>(n_users, 1));

  EvaluationResult result;
  result.split = split;
  result.protocol = fmt::format("sampled ({} uniform negatives per test item)", negatives_);
  result.users_evaluated = n_users;
  result.ks = ks_;
  static const char* const names[] = {"HR", "NDCG", "MRR"};
  for (int64_t q = 0; q < num_k; ++q)
    for (int m = 0; m < 3; ++m)
      result.metrics[fmt::format("{}@{}", names[m], ks_[q])] =
          n_users ? mean[q][m].item<double>() : std::numeric_limits<double>::quiet_NaN();
  if (num_groups > 0) {
    auto group = groups_.group_of_item.index_select(0, t_items);
    set_item_group_ranks(
        result, groups_, at::zeros({num_groups}, double_opts).index_add_(0, group, r),
        at::zeros({num_groups}, double_opts).index_add_(0, group, at::ones_like(r)), num_items);
  }
  return result;
}

}  // namespace polyphony
