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
namespace {

// `count` distinct negatives for each of `users`, uniform over the `count`-subsets of the user's
// candidates (the sampler's items). Drawn with replacement, then every repeat drawn again until
// none is left: the law of the result does not change when the candidates are permuted, so it is
// the uniform one over subsets, as the official ProtoMF code's draw without replacement.
at::Tensor distinct_negatives(const NegativeSampler& sampler, const at::Tensor& users,
                              int64_t count) {
  auto negatives = sampler.sample(users, count);
  if (count == 1) return negatives;
  const auto row_users = users.unsqueeze(1).expand({users.size(0), count});
  for (;;) {
    const auto [sorted, order] = negatives.sort(1);
    auto repeat_sorted = at::zeros_like(sorted, at::kBool);
    repeat_sorted.narrow(1, 1, count - 1)
        .copy_(sorted.narrow(1, 1, count - 1) == sorted.narrow(1, 0, count - 1));
    const auto repeat = at::zeros_like(repeat_sorted).scatter_(1, order, repeat_sorted);
    if (!repeat.any().item<bool>()) return negatives;
    negatives.masked_scatter_(repeat, sampler.sample(row_users.masked_select(repeat), 1).view(-1));
  }
}

// Every user with target rows has at least `count` candidates, or an error names one that has not.
void check_candidates(const UserItemIndex& excluded, const at::Tensor& target_users, int64_t count,
                      int64_t num_items) {
  const auto indptr = excluded.indptr().cpu();
  const auto users = std::get<0>(at::_unique(target_users.cpu()));
  const auto candidates =
      num_items - (indptr.index_select(0, users + 1) - indptr.index_select(0, users));
  if (users.numel() == 0 || candidates.min().item<int64_t>() >= count) return;
  const int64_t at_most = candidates.argmin().item<int64_t>();
  fail(
      "sampled evaluation: user {} has {} items outside its known and held-out ones, fewer than "
      "the {} distinct negatives each of its rows needs (--eval-protocol sampled:N with a "
      "smaller N)",
      users[at_most].item<int64_t>(), candidates[at_most].item<int64_t>(), count);
}

// The 0-based rank of every candidate of every row by score, highest first; tied candidates share
// the mean of the places they span (the expected rank under a random order of ties).
at::Tensor candidate_ranks(const at::Tensor& scores) {
  const auto sorted = std::get<0>(scores.sort(1));
  const auto above = scores.size(1) - at::searchsorted(sorted, scores, false, /*right=*/true);
  const auto ties = at::searchsorted(sorted, scores, false, /*right=*/true) -
                    at::searchsorted(sorted, scores, false, /*right=*/false);
  return above.to(at::kDouble) + (ties - 1).to(at::kDouble) / 2;
}

// Adds each candidate's rank to every listed value (country) its item carries.
void add_candidate_ranks(const ItemGroups& groups, const at::Tensor& items,
                         const at::Tensor& scores, at::Tensor& rank_sum, at::Tensor& count) {
  const auto member = groups.value_of_item.index_select(0, items.flatten());
  rank_sum += (member * candidate_ranks(scores).flatten().unsqueeze(1)).sum(0);
  count += member.sum(0);
}

// CandidateRank[VALUE] per listed value, the unweighted mean of each side's values
// (CandidateRank[over], CandidateRank[under]) and CandidateRankGap = under − over: NaN where a
// value has no candidate (ProtoCulturalDiversity's save_fairness_metrics_for_model.py).
void set_candidate_rank_metrics(EvaluationResult& result, const ItemGroups& groups,
                                const at::Tensor& rank_sum, const at::Tensor& count) {
  const auto mean = (rank_sum / count).cpu();  // 0 / 0: NaN
  double side[2] = {0, 0};
  const auto num_values = static_cast<int64_t>(groups.values.size());
  for (int64_t v = 0; v < num_values; ++v) {
    const double value = mean[v].item<double>();
    result.metrics[fmt::format("CandidateRank[{}]", groups.values[v])] = value;
    side[v < groups.over_values ? 0 : 1] += value;
  }
  const double over = side[0] / static_cast<double>(groups.over_values);
  const double under = side[1] / static_cast<double>(num_values - groups.over_values);
  result.metrics["CandidateRank[over]"] = over;
  result.metrics["CandidateRank[under]"] = under;
  result.metrics["CandidateRankGap"] = under - over;
}

// Each evaluated user's HR, NDCG and MRR at each K ([users, K, 3]), from the 0-based ranks `r`
// of the test items of `users`: per interaction, then averaged per user.
struct RankMeans {
  at::Tensor user_means;  // of the evaluated users
  at::Tensor evaluated;   // [num_users] bool
  int64_t n_users = 0;
};

RankMeans rank_means(const at::Tensor& r, const at::Tensor& users, int64_t num_users,
                     const std::vector<int64_t>& ks) {
  const auto double_opts = r.options();
  const auto num_k = static_cast<int64_t>(ks.size());
  auto per_user = at::zeros({num_users, num_k, 3}, double_opts);
  for (int64_t q = 0; q < num_k; ++q) {
    auto inside = (r < static_cast<double>(ks[q])).to(at::kDouble);
    auto terms = at::stack({inside, inside / at::log2(r + 2.0), inside / (r + 1.0)}, 1);
    per_user.select(1, q).index_add_(0, users, terms);
  }
  auto count =
      at::zeros({num_users}, double_opts).index_add_(0, users, at::ones({r.numel()}, double_opts));
  RankMeans m;
  m.evaluated = count > 0;
  m.n_users = m.evaluated.sum().item<int64_t>();
  m.user_means = per_user.index({m.evaluated}) / count.index({m.evaluated}).view({-1, 1, 1});
  return m;
}

// HR@K, NDCG@K and MRR@K averaged over the users (and each user's, when `per_user`).
void set_rank_metrics(EvaluationResult& result, const RankMeans& m, const std::vector<int64_t>& ks,
                      bool per_user) {
  static const char* const names[] = {"HR", "NDCG", "MRR"};
  const auto num_k = static_cast<int64_t>(ks.size());
  const auto mean =
      m.user_means.sum(0).cpu() / static_cast<double>(std::max<int64_t>(m.n_users, 1));
  result.users_evaluated = m.n_users;
  result.ks = ks;
  for (int64_t q = 0; q < num_k; ++q)
    for (int k = 0; k < 3; ++k)
      result.metrics[fmt::format("{}@{}", names[k], ks[q])] =
          m.n_users ? mean[q][k].item<double>() : std::numeric_limits<double>::quiet_NaN();
  if (!per_user) return;
  const auto users = at::nonzero(m.evaluated).view(-1).cpu();
  result.per_user_users.assign(users.data_ptr<int64_t>(), users.data_ptr<int64_t>() + m.n_users);
  const auto values = m.user_means.cpu().contiguous();
  for (int64_t q = 0; q < num_k; ++q)
    for (int k = 0; k < 3; ++k) {
      const auto column = values.select(1, q).select(1, k).contiguous();
      result.per_user_metrics[fmt::format("{}@{}", names[k], ks[q])].assign(
          column.data_ptr<double>(), column.data_ptr<double>() + m.n_users);
    }
}

}  // namespace

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
  if (groups_.value_of_item.defined()) groups_.value_of_item = groups_.value_of_item.to(device_);
}

EvaluationResult SampledEvaluator::evaluate(Recommender& model, const UserItemIndex& known,
                                            const UserItemIndex& target, const std::string& split,
                                            bool per_user_metrics) const {
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
  const UserItemIndex excluded(all, num_users, num_items);
  const auto sampler = NegativeSampler::uniform(excluded.to(device_));
  const auto [t_users, t_items] = target_dev.entries_of(at::arange(num_users, long_opts));
  check_candidates(excluded, t_users, negatives_, num_items);
  const int64_t n = t_users.numel();
  const int64_t num_groups =
      groups_.group_of_item.defined() ? static_cast<int64_t>(groups_.names.size()) : 0;

  auto rank = at::empty({n}, long_opts);
  const bool candidate_rank = groups_.value_of_item.defined() && !groups_.values.empty();
  const auto num_values = static_cast<int64_t>(groups_.values.size());
  auto value_rank_sum = at::zeros({num_values}, double_opts);
  auto value_count = at::zeros({num_values}, double_opts);
  for (int64_t begin = 0; begin < n; begin += chunk_) {
    const int64_t c = std::min(chunk_, n - begin);
    auto users = t_users.narrow(0, begin, c);
    auto items = at::cat(
        {t_items.narrow(0, begin, c).unsqueeze(1), distinct_negatives(sampler, users, negatives_)},
        1);
    auto scores = model.score(users, items).to(at::kFloat);
    TORCH_CHECK(scores.sizes() == items.sizes(), model.kind(), ": score returned ", scores.sizes(),
                ", expected ", items.sizes());
    // 0-based rank of the test item: negatives scored strictly higher (ties in its favour).
    rank.narrow(0, begin, c)
        .copy_((scores.narrow(1, 1, negatives_) > scores.narrow(1, 0, 1)).sum(1));
    if (candidate_rank) add_candidate_ranks(groups_, items, scores, value_rank_sum, value_count);
  }

  auto r = rank.to(at::kDouble);
  EvaluationResult result;
  result.split = split;
  result.protocol = fmt::format("sampled ({} uniform negatives per test item)", negatives_);
  set_rank_metrics(result, rank_means(r, t_users, num_users, ks_), ks_, per_user_metrics);
  if (num_groups > 0) {
    auto group = groups_.group_of_item.index_select(0, t_items);
    set_item_group_ranks(
        result, groups_, at::zeros({num_groups}, double_opts).index_add_(0, group, r),
        at::zeros({num_groups}, double_opts).index_add_(0, group, at::ones_like(r)), num_items);
  }
  if (candidate_rank) set_candidate_rank_metrics(result, groups_, value_rank_sum, value_count);
  return result;
}

}  // namespace polyphony
