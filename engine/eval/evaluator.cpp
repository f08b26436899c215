#include "engine/eval/evaluator.h"

#include "engine/dist/collective.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/error.h"
#include "engine/data/groups.h"
#include "engine/eval/rank_order_top_k.h"
#include "engine/eval/scores_above.h"
#include "models/recommender.h"

namespace polyphony {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// The score of a masked (known) item.
constexpr float kMasked = -std::numeric_limits<float>::infinity();
// Bytes per (user, item) cell a chunk may hold at once: the float scores, their sorted copy with
// int64 indices for ranks, the boolean target mask and the model's own temporaries. (Rows whose
// cut-off falls inside tied scores add int64 keys for those rows only.)
constexpr int64_t kBytesPerCell = 32;

// Per-K utility terms, summed over users (columns of the accumulator).
enum Utility { kHR, kPrecision, kRecall, kNDCG, kMRR, kMAP, kNumUtility };
const char* const kUtilityNames[] = {"HR", "Precision", "Recall", "NDCG", "MRR", "MAP"};
// Per-K popularity terms, summed over users.
enum PopularityTerm { kARP, kAPLT, kHeadShare, kNovelty, kNumPopularity };
const char* const kPopularityNames[] = {"ARP", "APLT", "HeadShare", "Novelty"};

// Gini index of a non-negative vector (0 = equal exposure, → 1 = all on one item).
double gini(const at::Tensor& exposure) {
  auto x = std::get<0>(exposure.sort());
  const double total = x.sum().item<double>();
  const int64_t n = x.numel();
  if (total <= 0 || n == 0) return kNaN;
  auto weights = at::arange(1, n + 1, x.options()) * 2.0 - static_cast<double>(n + 1);
  return (weights * x).sum().item<double>() / (static_cast<double>(n) * total);
}

// Shannon entropy (nats) of the exposure distribution.
double entropy(const at::Tensor& exposure) {
  const double total = exposure.sum().item<double>();
  if (total <= 0) return kNaN;
  auto p = exposure / total;
  return -at::xlogy(p, p).sum().item<double>();
}

}  // namespace

double EvaluationResult::metric(const std::string& name) const {
  auto it = metrics.find(name);
  if (it != metrics.end()) return it->second;
  std::string known;
  for (const auto& [key, value] : metrics) known += (known.empty() ? "" : ", ") + key;
  fail("unknown metric '{}' (known: {})", name, known);
}

nlohmann::json EvaluationResult::to_json() const {
  nlohmann::json j = {{"split", split},
                      {"protocol", protocol},
                      {"users_evaluated", users_evaluated},
                      {"ks", ks},
                      {"metrics", metrics}};
  if (!group_names.empty()) {
    nlohmann::json exposure = nlohmann::json::object();
    for (const auto& [k, shares] : group_exposure_share) exposure[std::to_string(k)] = shares;
    j["item_groups"] = {{"attribute", group_attribute},
                        {"names", group_names},
                        {"test_interactions", group_test_interactions},
                        {"avg_rank", group_avg_rank},
                        {"catalogue_share", group_catalogue_share},
                        {"exposure_share", exposure},
                        {"over", over_group},
                        {"under", under_group},
                        {"avg_rank_gap", avg_rank_gap}};
  }
  if (!user_group_names.empty())
    j["user_groups"] = {{"attribute", user_group_attribute},
                        {"method", user_group_method},
                        {"names", user_group_names},
                        {"users", user_group_users}};
  return j;
}

void set_item_group_ranks(EvaluationResult& r, const ItemGroups& groups, const at::Tensor& rank_sum,
                          const at::Tensor& rank_count, int64_t num_items) {
  const auto num_groups = static_cast<int64_t>(groups.names.size());
  auto sums = rank_sum.cpu();
  auto counts = rank_count.cpu();
  auto catalogue = at::bincount(groups.group_of_item.cpu(), {}, num_groups).to(at::kDouble) /
                   static_cast<double>(num_items);
  r.group_attribute = groups.attribute;
  r.group_names = groups.names;
  for (int64_t g = 0; g < num_groups; ++g) {
    const double n = counts[g].item<double>();
    r.group_test_interactions.push_back(static_cast<int64_t>(n));
    r.group_avg_rank.push_back(n > 0 ? sums[g].item<double>() / n : kNaN);
    r.group_catalogue_share.push_back(catalogue[g].item<double>());
    r.metrics["AvgRank[" + groups.names[g] + "]"] = r.group_avg_rank.back();
  }
  r.avg_rank_gap = kNaN;
  if (groups.over >= 0 && groups.under >= 0) {
    r.over_group = groups.names[groups.over];
    r.under_group = groups.names[groups.under];
    r.avg_rank_gap = r.group_avg_rank[groups.under] - r.group_avg_rank[groups.over];
    r.metrics["AvgRankGap"] = r.avg_rank_gap;
  }
}

std::vector<int64_t> sorted_cutoffs(std::vector<int64_t> ks) {
  if (ks.empty()) fail("evaluation: at least one cut-off K is needed");
  for (int64_t k : ks)
    if (k < 1) fail("evaluation: cut-off K must be at least 1 (got {})", k);
  std::sort(ks.begin(), ks.end());
  ks.erase(std::unique(ks.begin(), ks.end()), ks.end());
  return ks;
}

Evaluator::Evaluator(const UserItemIndex& train, ItemGroups groups, EvaluatorOptions options,
                     at::Device device, UserGroups user_groups)
    : options_(std::move(options)),
      device_(device),
      num_items_(train.num_items()),
      num_users_(train.num_users()),
      groups_(std::move(groups)),
      user_groups_(std::move(user_groups)) {
  options_.ks = sorted_cutoffs(std::move(options_.ks));
  if (!(options_.head_share > 0 && options_.head_share <= 1))
    fail("`head` share must be in (0, 1] (got {})", options_.head_share);
  if (options_.eval_memory_mb < 1)
    fail("`eval_memory_mb` must be at least 1 (got {})", options_.eval_memory_mb);

  auto items = train.items().to(at::kCPU);
  popularity_ = at::bincount(items, {}, num_items_).to(at::kDouble);
  is_head_ = options_.head_rule == HeadRule::kItemShare
                 ? most_popular_items(popularity_, options_.head_share)
                 : head_items(popularity_, options_.head_share);
  popularity_ = popularity_.to(device_);
  is_head_ = is_head_.to(device_);
  if (groups_.group_of_item.defined()) {
    TORCH_CHECK(groups_.group_of_item.numel() == num_items_, "item groups cover ",
                groups_.group_of_item.numel(), " items, the catalogue has ", num_items_);
    groups_.group_of_item = groups_.group_of_item.to(device_);
  }
  if (user_groups_.group_of_user.defined()) {
    TORCH_CHECK(user_groups_.group_of_user.numel() == num_users_, "user groups cover ",
                user_groups_.group_of_user.numel(), " users, the dataset has ", num_users_);
    user_groups_.group_of_user = user_groups_.group_of_user.to(device_);
  }
}

int64_t Evaluator::chunk_users(int64_t num_items) const {
  if (options_.chunk_users > 0) return options_.chunk_users;
  const int64_t budget = options_.eval_memory_mb * (int64_t{1} << 20);
  return std::max<int64_t>(1, budget / (std::max<int64_t>(num_items, 1) * kBytesPerCell));
}

// Sums over the evaluated users, added chunk by chunk and then over processes.
struct Evaluator::Sums {
  at::Tensor utility;        // [K, kNumUtility]
  at::Tensor popularity;     // [K, kNumPopularity]
  at::Tensor exposure;       // [K, I]: times each item is in a top-K list
  at::Tensor rank_sum;       // [item groups]: 0-based ranks of the target items
  at::Tensor rank_count;     // [item groups]: target items
  at::Tensor group_utility;  // [user groups, K, kNumUtility]
  at::Tensor group_users;    // [user groups]: evaluated users
  at::Tensor users;          // []: evaluated users
  // Per user, when asked for (else undefined): NDCG and Recall at every K, and 1 for each
  // evaluated user. Each user is ranked by one process, so summing over processes gathers them.
  at::Tensor user_ndcg, user_recall;  // [U, K]
  at::Tensor user_evaluated;          // [U]

  Sums(int64_t num_k, int64_t num_items, int64_t item_groups, int64_t user_groups,
       const at::TensorOptions& options, int64_t per_user_count)
      : utility(at::zeros({num_k, kNumUtility}, options)),
        popularity(at::zeros({num_k, kNumPopularity}, options)),
        exposure(at::zeros({num_k, num_items}, options)),
        rank_sum(at::zeros({std::max<int64_t>(item_groups, 1)}, options)),
        rank_count(at::zeros_like(rank_sum)),
        group_utility(at::zeros({std::max<int64_t>(user_groups, 1), num_k, kNumUtility}, options)),
        group_users(at::zeros({std::max<int64_t>(user_groups, 1)}, options)),
        users(at::zeros({}, options)) {
    if (per_user_count > 0) {
      user_ndcg = at::zeros({per_user_count, num_k}, options);
      user_recall = at::zeros_like(user_ndcg);
      user_evaluated = at::zeros({per_user_count}, options);
    }
  }

  // Every sum, for adding them up over processes (in place).
  std::vector<at::Tensor> all() const {
    std::vector<at::Tensor> out = {utility,    popularity,    exposure,    rank_sum,
                                   rank_count, group_utility, group_users, users.view({1})};
    if (user_evaluated.defined()) out.insert(out.end(), {user_ndcg, user_recall, user_evaluated});
    return out;
  }
};

namespace {

int64_t group_count(const at::Tensor& group_of, const std::vector<std::string>& names) {
  return group_of.defined() ? static_cast<int64_t>(names.size()) : 0;
}

// Utility, popularity, coverage and concentration metrics at every K.
void set_list_metrics(EvaluationResult& r, const at::Tensor& utility, const at::Tensor& popularity,
                      const at::Tensor& exposure, double users) {
  const auto utility_cpu = utility.cpu(), popularity_cpu = popularity.cpu();
  const auto exposure_cpu = exposure.cpu();
  const int64_t num_items = exposure.size(1);
  for (size_t q = 0; q < r.ks.size(); ++q) {
    const std::string at_k = "@" + std::to_string(r.ks[q]);
    for (int m = 0; m < kNumUtility; ++m)
      r.metrics[kUtilityNames[m] + at_k] = utility_cpu[q][m].item<double>() / users;
    for (int m = 0; m < kNumPopularity; ++m)
      r.metrics[kPopularityNames[m] + at_k] = popularity_cpu[q][m].item<double>() / users;
    const auto e = exposure_cpu[q];
    r.metrics["Coverage" + at_k] =
        (e > 0).sum().item<double>() / static_cast<double>(std::max<int64_t>(num_items, 1));
    r.metrics["Gini" + at_k] = gini(e);
    r.metrics["Entropy" + at_k] = entropy(e);
  }
}

// Each item group's share of the top-K exposure, at every K.
void set_group_exposure(EvaluationResult& r, const ItemGroups& groups, const at::Tensor& exposure) {
  const auto num_groups = static_cast<int64_t>(groups.names.size());
  const auto group_cpu = groups.group_of_item.cpu();
  const auto exposure_cpu = exposure.cpu();
  for (size_t q = 0; q < r.ks.size(); ++q) {
    auto per_group = at::zeros({num_groups}, at::kDouble).index_add_(0, group_cpu, exposure_cpu[q]);
    const double total = per_group.sum().item<double>();
    std::vector<double> shares;
    for (int64_t g = 0; g < num_groups; ++g)
      shares.push_back(total > 0 ? per_group[g].item<double>() / total : kNaN);
    r.group_exposure_share[r.ks[q]] = shares;
  }
}

// Utility per user group, and the gap (max − min) and spread (std) across the groups.
void set_user_group_metrics(EvaluationResult& r, const UserGroups& groups,
                            const at::Tensor& group_utility, const at::Tensor& group_users) {
  const auto sums = group_utility.cpu();
  const auto users_per_group = group_users.cpu();
  const auto num_groups = static_cast<int64_t>(groups.names.size());
  r.user_group_attribute = groups.attribute;
  r.user_group_method = groups.method;
  r.user_group_names = groups.names;
  for (int64_t g = 0; g < num_groups; ++g)
    r.user_group_users.push_back(static_cast<int64_t>(users_per_group[g].item<double>()));
  for (size_t q = 0; q < r.ks.size(); ++q) {
    for (int m = 0; m < kNumUtility; ++m) {
      const std::string name = kUtilityNames[m] + ("@" + std::to_string(r.ks[q]));
      std::vector<double> values;
      for (int64_t g = 0; g < num_groups; ++g) {
        const double n = users_per_group[g].item<double>();
        const double value = n > 0 ? sums[g][q][m].item<double>() / n : kNaN;
        r.metrics[name + "[users:" + groups.names[g] + "]"] = value;
        if (n > 0) values.push_back(value);
      }
      double gap = kNaN, spread = kNaN;
      if (!values.empty()) {
        const auto [low, high] = std::minmax_element(values.begin(), values.end());
        gap = *high - *low;
        double mean = 0, square = 0;
        for (double v : values) mean += v / static_cast<double>(values.size());
        for (double v : values)
          square += (v - mean) * (v - mean) / static_cast<double>(values.size());
        spread = std::sqrt(square);
      }
      r.metrics["UserGap[" + name + "]"] = gap;
      r.metrics["UserStd[" + name + "]"] = spread;
    }
  }
}

}  // namespace

EvaluationResult Evaluator::evaluate(Recommender& model, const UserItemIndex& exclude,
                                     const UserItemIndex& target, const std::string& split,
                                     bool per_user) const {
  at::NoGradGuard no_grad;
  const auto exclude_dev = exclude.to(device_);
  const auto target_dev = target.to(device_);
  const auto users = users_to_rank(target_dev);
  Sums sums(static_cast<int64_t>(options_.ks.size()), num_items_,
            group_count(groups_.group_of_item, groups_.names),
            group_count(user_groups_.group_of_user, user_groups_.names),
            at::TensorOptions().dtype(at::kDouble).device(device_), per_user ? num_users_ : 0);
  const int64_t chunk = chunk_users(num_items_);
  for (int64_t begin = 0; begin < users.numel(); begin += chunk)
    add_chunk(model, users.slice(0, begin, std::min(begin + chunk, users.numel())), exclude_dev,
              target_dev, sums);
  if (collective_ && collective_->world_size() > 1) {
    auto all = sums.all();
    collective_->all_reduce_sum(all);
  }
  return finish(sums, split);
}

at::Tensor Evaluator::users_to_rank(const UserItemIndex& target) const {
  const auto all_users =
      at::arange(num_users_, at::TensorOptions().dtype(at::kLong).device(device_));
  auto users = all_users.masked_select(target.counts_of(all_users) > 0);
  if (collective_ && collective_->world_size() > 1) {
    // Each process ranks its contiguous share of the users; the sums are added up after.
    const auto [from, to] = collective_->share_of(users.numel());
    users = users.slice(0, from, to);
  }
  return users;
}

namespace {

// The test items of a chunk's users that can be recommended, and how many each user has.
struct ChunkTargets {
  at::Tensor rows, items;  // one entry per recommendable test item: row in the chunk, item
  at::Tensor count;        // double [C]: recommendable test items per user
  at::Tensor evaluated;    // double [C]: 1 for a user with at least one, else 0
};

// Masks the excluded items of `scores` (in place) and finds the targets. A test item the user
// already has is masked and cannot be recommended: it is left out of T_u, and a user with no test
// item left is not evaluated (docs/metrics.md). The masked test items are those that masking
// turned to -inf.
ChunkTargets mask_and_find_targets(at::Tensor& scores, const at::Tensor& chunk_users,
                                   const UserItemIndex& exclude, const UserItemIndex& target) {
  const auto double_opts = scores.options().dtype(at::kDouble);
  auto [ex_rows, ex_items] = exclude.entries_of(chunk_users);
  auto [all_rows, all_items] = target.entries_of(chunk_users);
  auto scored_masked = scores.index({all_rows, all_items}) == kMasked;
  scores.index_put_({ex_rows, ex_items}, kMasked);
  auto recommendable = (scores.index({all_rows, all_items}) != kMasked).logical_or(scored_masked);
  ChunkTargets t;
  t.rows = all_rows.masked_select(recommendable);
  t.items = all_items.masked_select(recommendable);
  t.count = at::zeros({scores.size(0)}, double_opts)
                .index_add_(0, t.rows, at::ones_like(t.rows, double_opts));
  t.evaluated = (t.count > 0).to(at::kDouble);
  return t;
}

// What the utility metrics weigh a hit at each position with (positions from 1 to kmax).
struct PositionWeights {
  at::Tensor discount;          // NDCG's 1 / log2(rank + 1)
  at::Tensor ideal_dcg;         // the best DCG of n relevant items, at n - 1
  at::Tensor inverse_position;  // 1 / rank
};

PositionWeights position_weights(int64_t kmax, const at::TensorOptions& double_opts) {
  const auto positions = at::arange(1, kmax + 1, double_opts);
  PositionWeights w;
  w.discount = 1.0 / at::log2(positions + 1.0);
  w.ideal_dcg = w.discount.cumsum(0);
  w.inverse_position = 1.0 / positions;
  return w;
}

// Each user's utility terms at cut-off k (the first k of `hits`), by name: [kNumUtility, C].
// `cutoff` is the requested K (Precision divides by it even when the catalogue is smaller).
at::Tensor utility_terms(const at::Tensor& hits, const at::Tensor& n_target, int64_t k,
                         int64_t cutoff, const PositionWeights& w) {
  auto h = hits.narrow(1, 0, k);
  auto n_hits = h.sum(1);
  // Users not evaluated get 1 as their count here, and zero terms.
  auto relevant = n_target.clamp(1.0, static_cast<double>(k));
  auto ideal = w.ideal_dcg.index_select(0, relevant.to(at::kLong) - 1);
  auto inv = w.inverse_position.narrow(0, 0, k);
  auto per_user = at::empty({kNumUtility, hits.size(0)}, hits.options());
  per_user[kHR] = (n_hits > 0).to(at::kDouble);
  per_user[kPrecision] = n_hits / static_cast<double>(cutoff);
  per_user[kRecall] = n_hits / n_target.clamp_min(1.0);
  per_user[kNDCG] = (h * w.discount.narrow(0, 0, k)).sum(1) / ideal;
  per_user[kMRR] = (h * inv).amax(1);
  per_user[kMAP] = (h.cumsum(1) * inv * h).sum(1) / relevant;
  return per_user;
}

// Item properties the popularity terms average over a list.
struct ItemProperties {
  at::Tensor popularity;        // training interactions
  at::Tensor head;              // 1 for a head item
  at::Tensor self_information;  // log2(users / interactions) (Zhou et al., 2010)
};

// Each user's popularity terms over the first k of their list, by name: [kNumPopularity, C].
// `items_k` holds the lists' items row by row, `valid` (double [C, k]) which of them count.
at::Tensor popularity_terms(const at::Tensor& items_k, const at::Tensor& valid,
                            const at::Tensor& evaluated, const ItemProperties& p) {
  const int64_t c = valid.size(0), k = valid.size(1);
  auto n_valid = valid.sum(1).clamp_min(1.0);
  auto mean_over_list = [&](const at::Tensor& per_item) {
    return (per_item.index_select(0, items_k).view({c, k}) * valid).sum(1) / n_valid;
  };
  auto head_share = mean_over_list(p.head);
  auto terms = at::empty({kNumPopularity, c}, valid.options());
  terms[kARP] = mean_over_list(p.popularity);
  terms[kAPLT] = (1.0 - head_share) * evaluated;
  terms[kHeadShare] = head_share;
  terms[kNovelty] = mean_over_list(p.self_information);
  return terms;
}

// Adds each target item's rank (the number of unmasked items scored strictly higher, 0-based) to
// its item group's sum and count.
void add_group_ranks(const at::Tensor& scores, const ChunkTargets& t,
                     const at::Tensor& group_of_item, at::Tensor& rank_sum,
                     at::Tensor& rank_count) {
  const auto long_opts = t.rows.options();
  auto counts = t.count.to(at::kLong);
  auto local =
      at::arange(t.rows.numel(), long_opts) - (counts.cumsum(0) - counts).index_select(0, t.rows);
  const int64_t max_targets = counts.max().item<int64_t>();
  auto target_scores = at::full({scores.size(0), max_targets},
                                std::numeric_limits<float>::infinity(), scores.options());
  target_scores.index_put_({t.rows, local}, scores.index({t.rows, t.items}));
  auto rank = count_scored_above(scores, target_scores).index({t.rows, local}).to(at::kDouble);
  auto group = group_of_item.index_select(0, t.items);
  rank_sum.index_add_(0, group, rank);
  rank_count.index_add_(0, group, at::ones_like(rank));
}

}  // namespace

void Evaluator::add_chunk(Recommender& model, const at::Tensor& chunk_users,
                          const UserItemIndex& exclude, const UserItemIndex& target,
                          Sums& sums) const {
  const int64_t num_items = num_items_;
  const auto& ks = options_.ks;
  const auto num_k = static_cast<int64_t>(ks.size());
  const int64_t kmax = std::min(ks.back(), num_items);
  const auto long_opts = at::TensorOptions().dtype(at::kLong).device(device_);
  const auto double_opts = at::TensorOptions().dtype(at::kDouble).device(device_);
  const int64_t c = chunk_users.size(0);
  const PositionWeights weights = position_weights(kmax, double_opts);
  const ItemProperties items{
      popularity_, is_head_.to(at::kDouble),
      at::log2(static_cast<double>(num_users_) / popularity_.clamp_min(1.0))};

  auto scores = model.score_all_items(chunk_users).to(at::kFloat).contiguous();  // [C, I]
  TORCH_CHECK(scores.dim() == 2 && scores.size(0) == c && scores.size(1) == num_items, model.kind(),
              ": score_all_items returned ", scores.sizes(), ", expected [", c, ", ", num_items,
              "]");
  const ChunkTargets targets = mask_and_find_targets(scores, chunk_users, exclude, target);
  sums.users += targets.evaluated.sum();
  if (sums.user_evaluated.defined())
    sums.user_evaluated.index_copy_(0, chunk_users, targets.evaluated);

  auto top_items = rank_order_top_k(scores, kmax);  // [C, kmax]
  auto valid = scores.gather(1, top_items) != kMasked;
  auto is_target = at::zeros({c, num_items}, long_opts.dtype(at::kBool));
  is_target.index_put_({targets.rows, targets.items}, true);
  auto hits = is_target.gather(1, top_items).logical_and(valid).to(at::kDouble);
  // Lists of users who are not evaluated count nowhere (popularity, exposure).
  auto valid_d = valid.to(at::kDouble) * targets.evaluated.unsqueeze(1);
  const bool by_user_group = user_groups_.group_of_user.defined();
  at::Tensor user_group;
  if (by_user_group) {
    user_group = user_groups_.group_of_user.index_select(0, chunk_users);
    sums.group_users.index_add_(0, user_group, targets.evaluated);
  }

  for (int64_t q = 0; q < num_k; ++q) {
    const int64_t k = std::min(ks[q], kmax);
    const auto per_user = utility_terms(hits, targets.count, k, ks[q], weights);
    sums.utility[q] += per_user.sum(1);
    if (sums.user_evaluated.defined()) {
      sums.user_ndcg.select(1, q).index_copy_(0, chunk_users, per_user[kNDCG]);
      sums.user_recall.select(1, q).index_copy_(0, chunk_users, per_user[kRecall]);
    }
    if (by_user_group) sums.group_utility.select(1, q).index_add_(0, user_group, per_user.t());
    auto items_k = top_items.narrow(1, 0, k).reshape(-1);
    auto v = valid_d.narrow(1, 0, k);
    sums.popularity[q] += popularity_terms(items_k, v, targets.evaluated, items).sum(1);
    sums.exposure[q].index_add_(0, items_k, v.reshape(-1));
  }
  if (groups_.group_of_item.defined() && targets.rows.numel() > 0)
    add_group_ranks(scores, targets, groups_.group_of_item, sums.rank_sum, sums.rank_count);
}

EvaluationResult Evaluator::finish(const Sums& sums, const std::string& split) const {
  EvaluationResult r;
  r.split = split;
  r.users_evaluated = static_cast<int64_t>(std::llround(sums.users.item<double>()));
  r.ks = options_.ks;
  const double users = r.users_evaluated > 0 ? static_cast<double>(r.users_evaluated) : kNaN;
  set_list_metrics(r, sums.utility, sums.popularity, sums.exposure, users);
  if (groups_.group_of_item.defined()) {
    set_item_group_ranks(r, groups_, sums.rank_sum, sums.rank_count, num_items_);
    set_group_exposure(r, groups_, sums.exposure);
  }
  if (user_groups_.group_of_user.defined())
    set_user_group_metrics(r, user_groups_, sums.group_utility, sums.group_users);
  if (sums.user_evaluated.defined()) {
    const auto users = at::nonzero(sums.user_evaluated.cpu() > 0).view({-1}).contiguous();
    r.per_user_users.assign(users.data_ptr<int64_t>(), users.data_ptr<int64_t>() + users.numel());
    const auto column = [&](const at::Tensor& values, size_t q) {
      const auto c =
          values.cpu().index_select(0, users).select(1, static_cast<int64_t>(q)).contiguous();
      return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
    };
    for (size_t q = 0; q < r.ks.size(); ++q) {
      r.per_user_metrics["NDCG@" + std::to_string(r.ks[q])] = column(sums.user_ndcg, q);
      r.per_user_metrics["Recall@" + std::to_string(r.ks[q])] = column(sums.user_recall, q);
    }
  }
  return r;
}

}  // namespace polyphony
