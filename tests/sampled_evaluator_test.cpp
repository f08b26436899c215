#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "engine/eval/sampled_evaluator.h"
#include "test_support.h"

namespace polyphony {
namespace {

using testing::FixedScores;

// One user; items 0-2 known, item 3 the test item, items 4-5 the only possible negatives.
struct OneUser {
  UserItemIndex known{testing::pairs({{0, 0}, {0, 1}, {0, 2}}), 1, 6};
  UserItemIndex target{testing::pairs({{0, 3}}), 1, 6};
  ItemGroups groups{"g", torch::tensor({0, 0, 0, 1, 0, 0}, torch::kLong), {"a", "b"}, 0, 1};
  EvaluationResult run(const std::vector<float>& scores, int64_t negatives) {
    FixedScores model(torch::tensor(scores).view({1, 6}));
    return SampledEvaluator(groups, {1, 10, 100}, negatives, torch::kCPU)
        .evaluate(model, known, target, "test");
  }
};

TEST(SampledEvaluator, TestItemAboveEveryNegativeRanksFirst) {
  // Known items score highest: they are never sampled, so they cannot push the test item down.
  const auto r = OneUser().run({9, 9, 9, 5, 1, 2}, 99);
  EXPECT_EQ(r.protocol, "sampled (99 uniform negatives per test item)");
  EXPECT_DOUBLE_EQ(r.metric("HR@1"), 1.0);
  EXPECT_DOUBLE_EQ(r.metric("NDCG@10"), 1.0);
  EXPECT_DOUBLE_EQ(r.metric("MRR@10"), 1.0);
  EXPECT_DOUBLE_EQ(r.group_avg_rank[1], 0.0);
}

TEST(SampledEvaluator, TestItemBelowEveryNegativeRanksLast) {
  const auto r = OneUser().run({0, 0, 0, 1, 2, 3}, 99);
  EXPECT_DOUBLE_EQ(r.metric("HR@10"), 0.0);
  EXPECT_DOUBLE_EQ(r.metric("HR@100"), 1.0);  // rank 99 of 100
  EXPECT_DOUBLE_EQ(r.metric("NDCG@100"), 1.0 / std::log2(101.0));
  EXPECT_DOUBLE_EQ(r.group_avg_rank[1], 99.0);
  EXPECT_TRUE(std::isnan(r.avg_rank_gap));  // group a has no test item
}

TEST(SampledEvaluator, NegativesAreUniformOverTheUnknownItems) {
  // Item 4 beats the test item, item 5 does not: the rank counts draws of item 4, Binomial(n, ½).
  OneUser c;
  const int64_t n = 4000;
  const auto r = c.run({0, 0, 0, 5, 6, 1}, n);
  EXPECT_NEAR(r.group_avg_rank[1], n / 2.0, 6 * std::sqrt(n / 4.0));
}

TEST(SampledEvaluator, UsersAreAveragedAfterTheirOwnInteractions) {
  // User 0 has two test items (one ranked first, one last), user 1 one ranked first: HR@1 is
  // mean(mean(1, 0), 1) = 0.75, not the interaction mean 2/3.
  UserItemIndex known(testing::pairs({{0, 0}, {1, 0}}), 2, 5);
  UserItemIndex target(testing::pairs({{0, 1}, {0, 2}, {1, 1}}), 2, 5);
  FixedScores model(
      torch::tensor({0.f, 9.f, -9.f, 1.f, 1.f, 0.f, 9.f, 0.f, 1.f, 1.f}).view({2, 5}));
  const auto r = SampledEvaluator({}, {1}, 20, torch::kCPU).evaluate(model, known, target, "test");
  EXPECT_EQ(r.users_evaluated, 2);
  EXPECT_DOUBLE_EQ(r.metric("HR@1"), 0.75);
}

}  // namespace
}  // namespace polyphony
