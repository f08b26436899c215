#pragma once
// Full-ranking evaluation: every item is scored for every evaluated user, the user's known items
// are masked, and utility, popularity and item-group fairness metrics are computed from the top
// K, vectorised on the evaluation device, in user chunks sized from a memory budget. Every
// metric is a sum of per-user terms, so the result does not depend on the chunk size.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include "engine/data/dataset.h"
#include "engine/data/user_item_index.h"

namespace polyphony {

class Collective;

class Recommender;

// Which items are "head" for HeadShare@K and APLT@K (docs/metrics.md): papers use both.
enum class HeadRule {
  kInteractionShare,  // the most popular items that together hold `head_share` of the training
                      // interactions (Abdollahpouri et al.'s short head)
  kItemShare,         // the `head_share` most popular fraction of the items (e.g. the top 20 %)
};

struct EvaluatorOptions {
  /// Cut-offs K reported for every top-K metric.
  std::vector<int64_t> ks = {1, 5, 10, 20, 50, 100};
  /// Device memory the evaluator may use for one chunk of users' score rows.
  int64_t eval_memory_mb = 512;
  /// Users per chunk; 0 derives it from the memory budget.
  int64_t chunk_users = 0;
  /// Head items (HeadRule): by default the most popular items holding half the interactions.
  HeadRule head_rule = HeadRule::kInteractionShare;
  double head_share = 0.5;
};

struct EvaluationResult {
  std::string split;
  std::string protocol = "full-ranking";
  int64_t users_evaluated = 0;
  std::vector<int64_t> ks;
  std::map<std::string, double> metrics;  // e.g. "NDCG@10"

  // Item-group fairness (empty when the dataset has no item groups).
  std::string group_attribute;
  std::vector<std::string> group_names;
  std::vector<int64_t> group_test_interactions;
  std::vector<double> group_avg_rank;         // NaN where a group has no test interactions
  std::vector<double> group_catalogue_share;  // share of the items in each group
  std::map<int64_t, std::vector<double>> group_exposure_share;  // K -> share of top-K slots
  std::string over_group, under_group;
  double avg_rank_gap = 0;  // avg_rank(under) − avg_rank(over), NaN if undefined

  // User-group fairness (empty without user groups): every utility metric per group, also in
  // `metrics` as e.g. "NDCG@10[users:Q1]", with "UserGap[NDCG@10]" = best − worst group and
  // "UserStd[NDCG@10]" = the population standard deviation over the groups with users.
  std::string user_group_attribute, user_group_method;
  std::vector<std::string> user_group_names;
  std::vector<int64_t> user_group_users;  // evaluated users per group
  // Per-user utility, when asked for (evaluate's `per_user`): the evaluated users' indices in
  // ascending order, and NDCG@K and Recall@K of each at every K, in the same order.
  std::vector<int64_t> per_user_users;
  std::map<std::string, std::vector<double>> per_user_metrics;

  // The named metric; an unknown name is an error listing what exists.
  double metric(const std::string& name) const;
  nlohmann::json to_json() const;
};

// The cut-offs K sorted and without repeats; none, or one below 1, is an error.
std::vector<int64_t> sorted_cutoffs(std::vector<int64_t> ks);

// Fills the item-group part of `r` from per-group sums and counts of 0-based ranks (any device):
// average rank per group, catalogue shares, and the under − over gap.
void set_item_group_ranks(EvaluationResult& r, const ItemGroups& groups, const at::Tensor& rank_sum,
                          const at::Tensor& rank_count, int64_t num_items);

class Evaluator {
 public:
  // `train` gives item popularity (ARP, head/tail, novelty); the groups may be empty.
  Evaluator(const UserItemIndex& train, ItemGroups groups, EvaluatorOptions options,
            at::Device device, UserGroups user_groups = {});

  // Ranks all items for the users that have items in `target`, masking the items in `exclude`
  // (training, plus validation when testing). Indexes may live on any device.
  // With `per_user`, the result also holds every evaluated user's NDCG@K and Recall@K (memory:
  // 16 bytes per user and cut-off).
  EvaluationResult evaluate(Recommender& model, const UserItemIndex& exclude,
                            const UserItemIndex& target, const std::string& split,
                            bool per_user = false) const;

  // Users per chunk for a catalogue of `num_items` under the options' budget.
  int64_t chunk_users(int64_t num_items) const;

  // With several processes each ranks a share of the users and the results are combined, so
  // every process gets the whole result. Every process must then call evaluate() alike.
  void set_collective(Collective* collective) { collective_ = collective; }

 private:
  struct Sums;  // per-metric sums over the evaluated users (evaluator.cpp)

  // The users with items in `target` that this process ranks (its share, with several).
  at::Tensor users_to_rank(const UserItemIndex& target) const;
  // Ranks all items for `users` and adds their terms to `sums`.
  void add_chunk(Recommender& model, const at::Tensor& users, const UserItemIndex& exclude,
                 const UserItemIndex& target, Sums& sums) const;
  // The metrics from the sums of every process.
  EvaluationResult finish(const Sums& sums, const std::string& split) const;

  EvaluatorOptions options_;
  at::Device device_;
  int64_t num_items_;
  int64_t num_users_;
  at::Tensor popularity_;   // float [I]: training interactions per item
  at::Tensor is_head_;      // bool [I]
  ItemGroups groups_;       // group_of_item on device_
  UserGroups user_groups_;  // group_of_user on device_
  Collective* collective_ = nullptr;
};

}  // namespace polyphony
