#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "device_cases.h"
#include "engine/eval/evaluator.h"
#include "engine/eval/sampled_evaluator.h"
#include "engine/eval/top_items.h"
#include "test_support.h"

namespace polyphony {
namespace {

using testing::FixedScores;
using testing::pairs;

// Two users, five items. User 0: train {0}, test {2, 4}, scores 5 4 3 2 1, so after masking
// item 0 its ranking is 1, 2, 3, 4. User 1 has no test items and is not evaluated.
struct TinyCase {
  UserItemIndex train{pairs({{0, 0}, {1, 1}, {1, 2}}), 2, 5};
  UserItemIndex test{pairs({{0, 2}, {0, 4}}), 2, 5};
  FixedScores model{torch::tensor({5., 4., 3., 2., 1., 1., 1., 1., 1., 1.}).view({2, 5})};
  ItemGroups groups{"country", torch::tensor({0, 0, 1, 1, 0}, torch::kLong), {"A", "B"}, 0, 1};

  EvaluationResult run(std::vector<int64_t> ks, int64_t chunk = 0) {
    EvaluatorOptions options;
    options.ks = std::move(ks);
    options.chunk_users = chunk;
    return Evaluator(train, groups, options, torch::kCPU).evaluate(model, train, test, "test");
  }
};

TEST(Evaluator, UtilityMetricsMatchHandComputedValues) {
  TinyCase c;
  const auto r = c.run({2, 10});
  EXPECT_EQ(r.users_evaluated, 1);
  const double d3 = 1 / std::log2(3.0), d5 = 1 / std::log2(5.0);
  // @2: list [1, 2], hit at position 2.
  EXPECT_DOUBLE_EQ(r.metric("HR@2"), 1.0);
  EXPECT_DOUBLE_EQ(r.metric("Precision@2"), 0.5);
  EXPECT_DOUBLE_EQ(r.metric("Recall@2"), 0.5);
  EXPECT_NEAR(r.metric("NDCG@2"), d3 / (1 + d3), 1e-12);
  EXPECT_DOUBLE_EQ(r.metric("MRR@2"), 0.5);
  EXPECT_DOUBLE_EQ(r.metric("MAP@2"), 0.25);
  // @10 is longer than the catalogue: the list is the 4 unmasked items, hits at 2 and 4.
  EXPECT_DOUBLE_EQ(r.metric("HR@10"), 1.0);
  EXPECT_DOUBLE_EQ(r.metric("Precision@10"), 0.2);
  EXPECT_DOUBLE_EQ(r.metric("Recall@10"), 1.0);
  EXPECT_NEAR(r.metric("NDCG@10"), (d3 + d5) / (1 + d3), 1e-12);
  EXPECT_DOUBLE_EQ(r.metric("MAP@10"), (0.5 + 0.5) / 2);
}

TEST(Evaluator, PopularityAndGroupMetricsMatchHandComputedValues) {
  TinyCase c;
  const auto r = c.run({2});
  // Top-2 = items 1 and 2, each with one training interaction; exposure [0, 1, 1, 0, 0].
  EXPECT_DOUBLE_EQ(r.metric("ARP@2"), 1.0);
  EXPECT_DOUBLE_EQ(r.metric("Coverage@2"), 0.4);
  EXPECT_NEAR(r.metric("Gini@2"), 0.6, 1e-12);
  EXPECT_NEAR(r.metric("Entropy@2"), std::log(2.0), 1e-12);
  // Ranks: item 2 has item 1 above it (rank 1), item 4 has items 1, 2, 3 (rank 3).
  EXPECT_DOUBLE_EQ(r.group_avg_rank[0], 3.0);
  EXPECT_DOUBLE_EQ(r.group_avg_rank[1], 1.0);
  EXPECT_DOUBLE_EQ(r.avg_rank_gap, 1.0 - 3.0);
  EXPECT_DOUBLE_EQ(r.group_exposure_share.at(2)[0], 0.5);
  EXPECT_DOUBLE_EQ(r.group_catalogue_share[0], 0.6);
}

TEST(Evaluator, HeadItemsFollowTheChosenDefinition) {
  TinyCase c;
  // Training popularity [1, 1, 1, 0, 0]; user 0's top-2 list is items 1 and 2.
  auto head_metrics = [&](HeadRule rule, double share) {
    EvaluatorOptions options;
    options.ks = {2};
    options.head_rule = rule;
    options.head_share = share;
    const auto r = Evaluator(c.train, c.groups, options, torch::kCPU)
                       .evaluate(c.model, c.train, c.test, "test");
    return std::pair{r.metric("HeadShare@2"), r.metric("APLT@2")};
  };
  // Half the interactions: items 0 and 1 (item 1 is in the list).
  EXPECT_EQ(head_metrics(HeadRule::kInteractionShare, 0.5), (std::pair{0.5, 0.5}));
  // The top 20 % of 5 items: item 0 alone (ties to the lower index).
  EXPECT_EQ(head_metrics(HeadRule::kItemShare, 0.2), (std::pair{0.0, 1.0}));
  // The top 60 %: items 0, 1 and 2.
  EXPECT_EQ(head_metrics(HeadRule::kItemShare, 0.6), (std::pair{1.0, 0.0}));
}

TEST(Evaluator, TiedScoresDoNotCountAsRankedAbove) {
  TinyCase c;
  c.model = FixedScores(torch::tensor({9., 3., 3., 3., 1., 1., 1., 1., 1., 1.}).view({2, 5}));
  const auto r = c.run({10});
  EXPECT_DOUBLE_EQ(r.group_avg_rank[1], 0.0);  // item 2 ties with items 1 and 3
  EXPECT_DOUBLE_EQ(r.group_avg_rank[0], 3.0);  // item 4: items 1, 2, 3 strictly above
}

// A test item the user already has is masked, so it cannot be recommended: it is left out of the
// user's test set, and a user with none left is not evaluated. Users: 0 has test {0 (also
// trained), 4} and ranks 4 first; 1 has only test item 1, which it trained on; 2 has test {5},
// ranked second.
TEST(Evaluator, TestItemsTheUserAlreadyHasAreLeftOut) {
  UserItemIndex train{pairs({{0, 0}, {1, 1}, {1, 2}, {2, 3}}), 3, 6};
  UserItemIndex test{pairs({{0, 0}, {0, 4}, {1, 1}, {2, 5}}), 3, 6};
  FixedScores model{torch::tensor({{9., 1., 1., 1., 8., 1.},  //
                                   {1., 9., 1., 1., 1., 1.},
                                   {1., 1., 1., 9., 2., 1.5}})};
  EvaluatorOptions options;
  options.ks = {1, 2};
  const auto r =
      Evaluator(train, ItemGroups{}, options, torch::kCPU).evaluate(model, train, test, "test");
  EXPECT_EQ(r.users_evaluated, 2);
  EXPECT_DOUBLE_EQ(r.metric("HR@1"), 0.5);      // user 0 hits item 4, user 2 misses
  EXPECT_DOUBLE_EQ(r.metric("Recall@1"), 0.5);  // user 0: 1 of its 1 recommendable test item
  EXPECT_DOUBLE_EQ(r.metric("HR@2"), 1.0);      // user 2's list is [4, 5]
  EXPECT_DOUBLE_EQ(r.metric("Recall@2"), 1.0);
}

// Random interactions, about 70 % training and 30 % test, with their indexes.
struct RandomCase {
  Interactions train, test;
  UserItemIndex train_index, test_index;
  RandomCase(int64_t users, int64_t items, int64_t max_per_user) {
    auto all = testing::random_interactions(users, items, max_per_user);
    auto keep = torch::rand({all.size()}) < 0.7;
    train = {all.users.masked_select(keep), all.items.masked_select(keep), {}, {}};
    test = {all.users.masked_select(~keep), all.items.masked_select(~keep), {}, {}};
    train_index = UserItemIndex(train, users, items);
    test_index = UserItemIndex(test, users, items);
  }
};

TEST(Evaluator, ResultDoesNotDependOnChunkSize) {
  const int64_t users = 53, items = 41;
  const RandomCase data(users, items, 12);
  const auto& [train, test, train_index, test_index] = data;
  FixedScores model(torch::randn({users, items}));
  ItemGroups groups{"g", torch::randint(3, {items}, torch::kLong), {"x", "y", "z"}, 0, 1};
  EvaluatorOptions options;
  options.ks = {1, 5, 10, 50};
  auto reference = Evaluator(train_index, groups, options, torch::kCPU)
                       .evaluate(model, train_index, test_index, "test");
  for (int64_t chunk : {1, 7, 64}) {
    options.chunk_users = chunk;
    auto r = Evaluator(train_index, groups, options, torch::kCPU)
                 .evaluate(model, train_index, test_index, "test");
    EXPECT_EQ(r.users_evaluated, reference.users_evaluated);
    for (const auto& [name, value] : reference.metrics) {
      if (std::isnan(value)) continue;
      EXPECT_NEAR(r.metric(name), value, 1e-9) << name << " with chunk " << chunk;
    }
  }
}

// A user group's metric is the overall metric of that group's users alone, and the groups'
// user-weighted mean is the overall metric.
TEST(Evaluator, UserGroupMetricsAreTheMetricsOfEachGroupsUsers) {
  const int64_t users = 47, items = 31, groups = 3;
  const RandomCase data(users, items, 10);
  const auto& [train, test, train_index, test_index] = data;
  FixedScores model(torch::randn({users, items}));
  UserGroups by_user{"g", "random", torch::randint(groups, {users}, torch::kLong), {"a", "b", "c"}};
  EvaluatorOptions options;
  options.ks = {5};
  const auto r = Evaluator(train_index, {}, options, torch::kCPU, by_user)
                     .evaluate(model, train_index, test_index, "test");
  double weighted = 0;
  std::vector<double> per_group;
  for (int64_t g = 0; g < groups; ++g) {
    auto in_group = by_user.group_of_user.index_select(0, test.users) == g;
    Interactions only{
        test.users.masked_select(in_group), test.items.masked_select(in_group), {}, {}};
    const auto alone = Evaluator(train_index, {}, options, torch::kCPU)
                           .evaluate(model, train_index, UserItemIndex(only, users, items), "test");
    ASSERT_EQ(r.user_group_users[g], alone.users_evaluated);
    const std::string suffix = "[users:" + by_user.names[g] + "]";
    for (const char* m : {"NDCG@5", "Recall@5", "HR@5", "MAP@5"})
      EXPECT_NEAR(r.metric(m + suffix), alone.metric(m), 1e-12) << m << suffix;
    weighted += alone.metric("NDCG@5") * static_cast<double>(alone.users_evaluated);
    if (alone.users_evaluated > 0) per_group.push_back(alone.metric("NDCG@5"));
  }
  EXPECT_NEAR(weighted / static_cast<double>(r.users_evaluated), r.metric("NDCG@5"), 1e-12);
  const auto values = torch::tensor(per_group, torch::kDouble);
  EXPECT_NEAR(r.metric("UserStd[NDCG@5]"), values.std(/*unbiased=*/false).item<double>(), 1e-12);
  EXPECT_NEAR(r.metric("UserGap[NDCG@5]"), (values.max() - values.min()).item<double>(), 1e-12);
}

// Per-user metrics: each user's value is that user's metric evaluated alone, their mean is the
// overall metric, and only evaluated users are listed, whatever the chunk size.
TEST(Evaluator, PerUserMetricsAreEachUsersOwnAndAverageToTheOverall) {
  const int64_t users = 29, items = 23;
  const RandomCase data(users, items, 6);
  const auto& [train, test, train_index, test_index] = data;
  FixedScores model(torch::randn({users, items}));
  EvaluatorOptions options;
  options.ks = {3, 10};
  options.chunk_users = 4;
  const Evaluator evaluator(train_index, {}, options, torch::kCPU);
  const auto r = evaluator.evaluate(model, train_index, test_index, "test", /*per_user=*/true);
  EXPECT_TRUE(evaluator.evaluate(model, train_index, test_index, "test").per_user_users.empty());
  ASSERT_EQ(static_cast<int64_t>(r.per_user_users.size()), r.users_evaluated);
  EXPECT_TRUE(std::is_sorted(r.per_user_users.begin(), r.per_user_users.end()));
  ASSERT_EQ(r.per_user_metrics.size(), 4u);  // NDCG and Recall at 3 and 10
  for (const auto& [name, values] : r.per_user_metrics) {
    ASSERT_EQ(values.size(), r.per_user_users.size()) << name;
    double mean = 0;
    for (double v : values) mean += v / static_cast<double>(values.size());
    EXPECT_NEAR(mean, r.metric(name), 1e-12) << name;
  }
  for (size_t i = 0; i < r.per_user_users.size(); i += 5) {
    const int64_t user = r.per_user_users[i];
    auto mine = test.users == user;
    Interactions only{test.users.masked_select(mine), test.items.masked_select(mine), {}, {}};
    const auto alone =
        evaluator.evaluate(model, train_index, UserItemIndex(only, users, items), "test");
    ASSERT_EQ(alone.users_evaluated, 1);
    for (const char* m : {"NDCG@3", "NDCG@10", "Recall@3", "Recall@10"})
      EXPECT_NEAR(r.per_user_metrics.at(m)[i], alone.metric(m), 1e-12) << m << " user " << user;
  }
}

// The same evaluation on every device gives the same numbers (float scores, double sums).
class EvaluatorDevices : public ::testing::TestWithParam<std::string> {};

TEST_P(EvaluatorDevices, MatchTheCpuResult) {
  const torch::Device device(GetParam());
  POLYPHONY_SKIP_WITHOUT(device);
  const int64_t users = 61, items = 47;
  const RandomCase data(users, items, 14);
  const auto& [train, test, train_index, test_index] = data;
  FixedScores model(torch::randn({users, items}));
  ItemGroups groups{"g", torch::randint(3, {items}, torch::kLong), {"x", "y", "z"}, 0, 1};
  UserGroups user_groups{"u", "random", torch::randint(2, {users}, torch::kLong), {"p", "q"}};
  EvaluatorOptions options;
  options.ks = {1, 5, 20};
  options.chunk_users = 16;
  const auto reference = Evaluator(train_index, groups, options, torch::kCPU, user_groups)
                             .evaluate(model, train_index, test_index, "test");
  model.to(device);
  const auto on_device = Evaluator(train_index, groups, options, device, user_groups)
                             .evaluate(model, train_index, test_index, "test");
  for (const auto& [name, value] : reference.metrics) {
    if (std::isnan(value)) continue;
    EXPECT_NEAR(on_device.metric(name), value, 1e-9) << name << " on " << GetParam();
  }
  // Sampled evaluation: same seed, same draws only on one device; its ranks must be in range
  // and its protocol labelled.
  torch::manual_seed(5);
  const auto sampled =
      SampledEvaluator(groups, {10}, 30, device).evaluate(model, train_index, test_index, "test");
  EXPECT_EQ(sampled.users_evaluated, reference.users_evaluated);
  EXPECT_GE(sampled.metric("HR@10"), 0.0);
  EXPECT_LE(sampled.metric("HR@10"), 1.0);
}

// Scores with many ties: the lists are `recommend`'s (ties to the lower item index), so the
// metrics are the same for any set of cut-offs, any chunking, and with more items that score
// lower; HR@k and NDCG@k equal those computed from top_items' lists.
TEST_P(EvaluatorDevices, TiesAtTheCutOffGoToTheLowerItemAsInRecommend) {
  const torch::Device device(GetParam());
  POLYPHONY_SKIP_WITHOUT(device);
  // Interactions among the first 30 items, and scores that tie everywhere but for a few items of
  // each user: the cut-offs fall inside runs of equal scores that hold test items.
  const int64_t users = 40, items = 600, extra = 900;
  const RandomCase data(users, 30, 20);
  const Interactions& train = data.train;
  const Interactions& test = data.test;
  const UserItemIndex train_index(train, users, items), test_index(test, users, items);
  auto scores = torch::ones({users, items}).scatter_(1, torch::randint(items, {users, 3}), 2.0);
  auto evaluate = [&](const at::Tensor& s, int64_t catalogue, std::vector<int64_t> ks,
                      int64_t chunk) {
    FixedScores model(s.to(device));
    EvaluatorOptions options;
    options.ks = std::move(ks);
    options.chunk_users = chunk;
    const UserItemIndex tr(train, users, catalogue), te(test, users, catalogue);
    return Evaluator(tr, ItemGroups{}, options, device).evaluate(model, tr, te, "test");
  };
  const auto reference = evaluate(scores, items, {1, 10, 100}, 0);
  // Longer catalogue: the extra items score below every item of the original one.
  auto longer = torch::cat({scores, torch::full({users, extra}, -5.0)}, 1);
  for (const auto& r :
       {evaluate(scores, items, {1, 10}, 0), evaluate(scores, items, {1, 10}, 7),
        evaluate(scores, items, {10, 1, 100}, 3), evaluate(longer, items + extra, {1, 10}, 0)}) {
    for (const char* name : {"HR@1", "NDCG@1", "HR@10", "NDCG@10", "MAP@10", "ARP@10"})
      EXPECT_DOUBLE_EQ(r.metric(name), reference.metric(name)) << name;
  }
  // The same from lists made here with a plain stable sort (ties to the lower index, training
  // items left out), independently of rank_order_top_k, which both the evaluator and top_items
  // use; top_items must give these lists too.
  const auto cpu_scores = scores.to(torch::kDouble);
  std::vector<std::vector<int64_t>> lists(users);
  for (int64_t u = 0; u < users; ++u) {
    auto [rows, seen] = train_index.entries_of(torch::tensor({u}));
    std::set<int64_t> known;
    for (int64_t i = 0; i < seen.numel(); ++i) known.insert(seen[i].item<int64_t>());
    std::vector<int64_t> order;
    for (int64_t i = 0; i < items; ++i)
      if (!known.count(i)) order.push_back(i);
    const auto row = cpu_scores[u];
    const auto* value = row.data_ptr<double>();
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t a, int64_t b) { return value[a] > value[b]; });
    lists[u].assign(order.begin(), order.begin() + 10);
  }
  FixedScores model(scores.to(device));
  const auto all = torch::arange(users, torch::dtype(torch::kLong).device(device));
  const auto top = top_items(model, all, 10, &train_index).items.cpu();
  for (int64_t u = 0; u < users; ++u)
    for (int64_t j = 0; j < 10; ++j)
      ASSERT_EQ(top[u][j].item<int64_t>(), lists[u][j]) << "user " << u << " rank " << j;
  double hr1 = 0, ndcg10 = 0;
  int64_t evaluated = 0;
  for (int64_t u = 0; u < users; ++u) {
    auto [rows, targets] = test_index.entries_of(torch::tensor({u}));
    auto [seen_rows, seen] = train_index.entries_of(torch::tensor({u}));
    std::set<int64_t> wanted, known;
    for (int64_t i = 0; i < seen.numel(); ++i) known.insert(seen[i].item<int64_t>());
    for (int64_t i = 0; i < targets.numel(); ++i)
      if (!known.count(targets[i].item<int64_t>())) wanted.insert(targets[i].item<int64_t>());
    if (wanted.empty()) continue;
    ++evaluated;
    double dcg = 0, ideal = 0;
    for (int64_t j = 0; j < 10; ++j) {
      const bool hit = wanted.count(lists[u][j]) > 0;
      if (j == 0 && hit) hr1 += 1;
      if (hit) dcg += 1 / std::log2(j + 2.0);
      if (j < static_cast<int64_t>(wanted.size())) ideal += 1 / std::log2(j + 2.0);
    }
    ndcg10 += dcg / ideal;
  }
  EXPECT_EQ(reference.users_evaluated, evaluated);
  EXPECT_NEAR(reference.metric("HR@1"), hr1 / evaluated, 1e-12);
  EXPECT_NEAR(reference.metric("NDCG@10"), ndcg10 / evaluated, 1e-12);
}

INSTANTIATE_TEST_SUITE_P(Devices, EvaluatorDevices, ::testing::ValuesIn(testing::test_devices()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace polyphony
