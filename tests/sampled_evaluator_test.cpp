#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "engine/eval/protocol_evaluator.h"
#include "engine/eval/sampled_evaluator.h"
#include "test_support.h"

namespace polyphony {
namespace {

using testing::FixedScores;

// One user; items 0-2 known, item 3 the test item, items 4 onwards (`candidates` of them) the
// only possible negatives.
struct OneUser {
  explicit OneUser(int64_t candidates) : items(4 + candidates) {}
  int64_t items;
  UserItemIndex known{testing::pairs({{0, 0}, {0, 1}, {0, 2}}), 1, items};
  UserItemIndex target{testing::pairs({{0, 3}}), 1, items};
  // Scores of the known items, the test item and the candidates.
  EvaluationResult run(float known_score, float test_score, float candidate_score,
                       int64_t negatives) {
    auto scores = torch::full({1, items}, candidate_score);
    scores.narrow(1, 0, 3).fill_(known_score);
    scores[0][3] = test_score;
    auto group_of_item = torch::zeros({items}, torch::kLong);
    group_of_item[3] = 1;
    const ItemGroups groups{"g", group_of_item, {"a", "b"}, 0, 1};
    FixedScores model(scores);
    return SampledEvaluator(groups, {1, 10, 100}, negatives, torch::kCPU)
        .evaluate(model, known, target, "test");
  }
};

TEST(SampledEvaluator, TestItemAboveEveryNegativeRanksFirst) {
  // Known items score highest: they are never sampled, so they cannot push the test item down.
  const auto r = OneUser(99).run(9, 5, 1, 99);
  EXPECT_EQ(r.protocol, "sampled (99 uniform negatives per test item)");
  EXPECT_DOUBLE_EQ(r.metric("HR@1"), 1.0);
  EXPECT_DOUBLE_EQ(r.metric("NDCG@10"), 1.0);
  EXPECT_DOUBLE_EQ(r.metric("MRR@10"), 1.0);
  EXPECT_DOUBLE_EQ(r.group_avg_rank[1], 0.0);
}

TEST(SampledEvaluator, TestItemBelowEveryNegativeRanksLast) {
  const auto r = OneUser(150).run(0, 1, 2, 99);
  EXPECT_DOUBLE_EQ(r.metric("HR@10"), 0.0);
  EXPECT_DOUBLE_EQ(r.metric("HR@100"), 1.0);  // rank 99 of 100
  EXPECT_DOUBLE_EQ(r.metric("NDCG@100"), 1.0 / std::log2(101.0));
  EXPECT_DOUBLE_EQ(r.group_avg_rank[1], 99.0);
  EXPECT_TRUE(std::isnan(r.avg_rank_gap));  // group a has no test item
}

// Without replacement: asked for every candidate, a row holds each exactly once (with
// replacement, the count of candidates above the test item would vary from row to row); asked
// for fewer, the count above follows the hypergeometric law.
TEST(SampledEvaluator, NegativesAreDistinctAndUniformOverTheUnknownItems) {
  // Every user: items 0, 2, 3 known, item 1 held out; items 4-8 score above it, items 9-13 below:
  // 10 candidates per user.
  const int64_t users = 2000, items = 14;
  std::vector<std::pair<int64_t, int64_t>> own, held_out;
  for (int64_t u = 0; u < users; ++u) {
    for (int64_t i : {0, 2, 3}) own.emplace_back(u, i);
    held_out.emplace_back(u, 1);
  }
  const UserItemIndex known(testing::pairs(own), users, items);
  const UserItemIndex target(testing::pairs(held_out), users, items);
  auto scores = torch::zeros({users, items});
  scores.narrow(1, 1, 1).fill_(5);
  scores.narrow(1, 4, 5).fill_(9);
  FixedScores model(scores);
  auto group_of_item = torch::zeros({items}, torch::kLong);
  group_of_item[1] = 1;
  const ItemGroups groups{"g", group_of_item, {"a", "b"}, 0, 1};
  const auto evaluate = [&](int64_t negatives) {
    return SampledEvaluator(groups, {10}, negatives, torch::kCPU)
        .evaluate(model, known, target, "test");
  };
  EXPECT_DOUBLE_EQ(evaluate(10).group_avg_rank[1], 5.0) << "each candidate once in every row";
  // Five of the ten: the number above the test item is hypergeometric, mean 2.5, variance 25/36.
  EXPECT_NEAR(evaluate(5).group_avg_rank[1], 2.5, 6 * std::sqrt(25.0 / 36 / users));
  EXPECT_CONTAINS(testing::error_of([&] { evaluate(11); }),
                  "sampled evaluation: user 0 has 10 items outside its known and held-out ones, "
                  "fewer than the 11 distinct negatives");
}

TEST(SampledEvaluator, UsersAreAveragedAfterTheirOwnInteractions) {
  // User 0 has two test items (one ranked first, one last), user 1 one ranked first: HR@1 is
  // mean(mean(1, 0), 1) = 0.75, not the interaction mean 2/3. User 2 has none.
  UserItemIndex known(testing::pairs({{0, 0}, {1, 0}, {2, 0}}), 3, 25);
  UserItemIndex target(testing::pairs({{0, 1}, {0, 2}, {1, 1}}), 3, 25);
  auto scores = torch::ones({3, 25});
  scores[0][1] = 9;
  scores[0][2] = -9;
  scores[1][1] = 9;
  FixedScores model(scores);
  const SampledEvaluator evaluator({}, {1, 25}, 20, torch::kCPU);
  const auto r = evaluator.evaluate(model, known, target, "test");
  EXPECT_EQ(r.users_evaluated, 2);
  EXPECT_DOUBLE_EQ(r.metric("HR@1"), 0.75);
  EXPECT_TRUE(r.per_user_metrics.empty());
  // Each evaluated user's own means, for the report's paired tests: user 0's test items rank 0
  // and 20 (below all 20 negatives).
  const auto p = evaluator.evaluate(model, known, target, "test", /*per_user=*/true);
  EXPECT_EQ(p.per_user_users, (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(p.per_user_metrics.size(), 6u);  // HR, NDCG, MRR at 1 and 25
  EXPECT_EQ(p.per_user_metrics.at("HR@1"), (std::vector<double>{0.5, 1.0}));
  EXPECT_EQ(p.per_user_metrics.at("HR@25"), (std::vector<double>{1.0, 1.0}));
  EXPECT_DOUBLE_EQ(p.per_user_metrics.at("NDCG@25")[0], (1 + 1 / std::log2(22.0)) / 2);
  EXPECT_DOUBLE_EQ(p.per_user_metrics.at("MRR@25")[0], (1 + 1 / 21.0) / 2);
  EXPECT_DOUBLE_EQ(p.metric("NDCG@25"), (p.per_user_metrics.at("NDCG@25")[0] + 1) / 2);
}

// The official protocol's test negatives come from outside the training items and the test
// items only: the validation item may be one (ProtoCulturalDiversity, as the ProtoMF code).
TEST(ProtocolEvaluator, SampledTestNegativesMayIncludeTheValidationItem) {
  const UserItemIndex train(testing::pairs({{0, 0}}), 1, 5);
  const UserItemIndex seen(testing::pairs({{0, 0}, {0, 1}}), 1, 5);  // train ∪ validation
  const UserItemIndex test(testing::pairs({{0, 2}}), 1, 5);
  // The validation item 1 scores above the test item 2; items 3 and 4 below it.
  FixedScores model(torch::tensor({{0.f, 9.f, 5.f, 0.f, 0.f}}));
  EvaluatorOptions options;
  options.ks = {1, 10};
  const ProtocolEvaluator evaluator(3, train, {}, options, torch::kCPU, {});
  const auto r = evaluator.evaluate(model, seen, test, "test");
  EXPECT_DOUBLE_EQ(r.metric("HR@1"), 0.0);
  EXPECT_DOUBLE_EQ(r.metric("MRR@10"), 0.5) << "ranked second, below the validation item";
}

// The cultural-fairness papers' candidate rank, worked by hand: every candidate of a row (the
// held-out item and its negatives) ranked by score, ties sharing the mean of their places, each
// rank given to its item's countries; a side's value the unweighted mean of its countries'.
TEST(SampledEvaluator, CandidateRankByHand) {
  // Countries: item 0 US, item 1 JP, item 2 US, item 3 none, item 4 US and JP.
  ItemGroups groups{"country", torch::zeros({5}, torch::kLong), {"all"}, -1, -1};
  groups.values = {"US", "JP"};
  groups.over_values = 1;
  groups.value_of_item =
      torch::tensor({{1., 0.}, {0., 1.}, {1., 0.}, {0., 0.}, {1., 1.}}, torch::kDouble);
  // User 0 holds out item 1 (item 3 known): candidates 1, 0, 2, 4 scored 3, 2, 2, 1, so ranks
  // 0, 1.5, 1.5, 3. User 1 holds out item 2 (item 0 known): candidates 2, 1, 3, 4 scored
  // 0, 5, 5, 5, so ranks 3, 1, 1, 1.
  const UserItemIndex known(testing::pairs({{0, 3}, {1, 0}}), 2, 5);
  const UserItemIndex target(testing::pairs({{0, 1}, {1, 2}}), 2, 5);
  FixedScores model(torch::tensor({{2.f, 3.f, 2.f, 9.f, 1.f}, {9.f, 5.f, 0.f, 5.f, 5.f}}));
  const auto r = SampledEvaluator(groups, {1}, 3, torch::kCPU).evaluate(model, known, target, "t");
  // US: 1.5, 1.5, 3 (row 0) and 3, 1 (row 1): 10 / 5. JP: 0, 3 and 1, 1: 5 / 4.
  EXPECT_DOUBLE_EQ(r.metric("CandidateRank[US]"), 2.0);
  EXPECT_DOUBLE_EQ(r.metric("CandidateRank[JP]"), 1.25);
  EXPECT_DOUBLE_EQ(r.metric("CandidateRank[over]"), 2.0);
  EXPECT_DOUBLE_EQ(r.metric("CandidateRank[under]"), 1.25);
  EXPECT_DOUBLE_EQ(r.metric("CandidateRankGap"), -0.75);
  // A country no candidate carries: NaN, and so its side and the gap.
  groups.values = {"US", "JP", "KR"};
  groups.value_of_item =
      torch::cat({groups.value_of_item, torch::zeros({5, 1}, torch::kDouble)}, 1);
  const auto none =
      SampledEvaluator(groups, {1}, 3, torch::kCPU).evaluate(model, known, target, "t");
  EXPECT_TRUE(std::isnan(none.metric("CandidateRank[KR]")));
  EXPECT_TRUE(std::isnan(none.metric("CandidateRankGap")));
  EXPECT_DOUBLE_EQ(none.metric("CandidateRank[over]"), 2.0);
}

}  // namespace
}  // namespace polyphony
