#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <set>

#include "device_cases.h"
#include "engine/data/negative_sampler.h"
#include "test_support.h"

namespace polyphony {
namespace {

TEST(NegativeSampler, UniformNeverReturnsAPositiveAndReachesEveryNegative) {
  const int64_t users = 40, items = 57;
  auto train = testing::random_interactions(users, items, 50);
  const UserItemIndex index(train, users, items);
  const auto sampler = NegativeSampler::uniform(index);
  auto batch_users = torch::arange(users).repeat_interleave(400);
  auto negatives = sampler.sample(batch_users, 3);
  ASSERT_EQ(negatives.sizes(), (std::vector<int64_t>{users * 400, 3}));
  ASSERT_GE(negatives.min().item<int64_t>(), 0);
  ASSERT_LT(negatives.max().item<int64_t>(), items);

  auto is_positive = torch::zeros({users, items}, torch::kBool);
  is_positive.index_put_({train.users, train.items}, true);
  auto hit = is_positive.index({batch_users.unsqueeze(1).expand_as(negatives), negatives});
  EXPECT_EQ(hit.sum().item<int64_t>(), 0) << "a positive was sampled as a negative";

  auto drawn = torch::zeros({users, items}, torch::kBool);
  drawn.index_put_({batch_users.unsqueeze(1).expand_as(negatives), negatives}, true);
  // 1200 draws over at most 56 negatives: missing one has probability < 56·(55/56)^1200 ≈ 1e-8.
  EXPECT_TRUE(torch::equal(drawn, is_positive.logical_not())) << "some negative is never drawn";
}

TEST(NegativeSampler, KnowsWhichUsersHaveANegative) {
  // User 0 has items 0, 1, 2 (all), user 1 has item 0, user 2 has items 1 and 2.
  Interactions train = testing::pairs({{0, 0}, {0, 1}, {0, 2}, {1, 0}, {2, 1}, {2, 2}});
  const UserItemIndex index(train, 3, 3);
  const auto users = torch::arange(3);
  EXPECT_TRUE(torch::equal(NegativeSampler::uniform(index).has_negatives(users),
                           torch::tensor({false, true, true})));
  // Popularity: item 0 has mass; for user 2 it is the one negative and it can be drawn.
  EXPECT_TRUE(torch::equal(NegativeSampler::popularity(index, 1.0).has_negatives(users),
                           torch::tensor({false, true, true})));
  // Item 2 never interacted with has no mass under popularity: user 1's only other is item 1.
  Interactions sparse = testing::pairs({{0, 0}, {0, 1}, {1, 0}});
  const UserItemIndex three(sparse, 2, 3);
  EXPECT_TRUE(torch::equal(NegativeSampler::popularity(three, 1.0).has_negatives(torch::arange(2)),
                           torch::tensor({false, true})));
}

TEST(NegativeSampler, UniformIsUniformOverTheNegatives) {
  const int64_t items = 101;
  // One user with a random set of positives.
  auto positives = torch::randperm(items).slice(0, 0, 30);
  Interactions train{torch::zeros({30}, torch::kLong), positives, {}, {}};
  const auto sampler = NegativeSampler::uniform(UserItemIndex(train, 1, items));
  const int64_t draws = 200000;
  auto counts =
      torch::bincount(sampler.sample(torch::zeros({draws}, torch::kLong), 1).view(-1), {}, items)
          .to(torch::kDouble);
  auto negative = torch::ones({items}, torch::kBool);
  negative.index_put_({positives}, false);
  const double expected = static_cast<double>(draws) / (items - 30);
  auto observed = counts.masked_select(negative);
  const double chi2 = ((observed - expected).pow(2) / expected).sum().item<double>();
  const double df = static_cast<double>(items - 30 - 1);
  // Chi-square with 70 degrees of freedom: mean 70, sd ≈ 11.8; 6 sd is a false alarm < 1e-6.
  EXPECT_LT(chi2, df + 6 * std::sqrt(2 * df)) << "chi2 " << chi2;
  EXPECT_EQ(counts.masked_select(negative.logical_not()).sum().item<double>(), 0.0);
}

// Popularity sampling: item i (not a positive of the user) is drawn with probability
// ∝ count_i^α. Several users with different positives share one searchsorted.
TEST(NegativeSampler, PopularityFollowsTheExponentOverNonPositives) {
  const int64_t users = 3, items = 60;
  for (double alpha : {0.0, 0.5, 1.0}) {
    auto train = testing::random_interactions(users, items, 25);
    // 300 other users with Zipf-like tastes give the items very different popularity.
    const int64_t others = 300;
    auto taste = 1.0 / (torch::arange(items) + 1).to(torch::kDouble);
    std::vector<at::Tensor> rows;
    for (int64_t k = 0; k < others; ++k) rows.push_back(torch::multinomial(taste, 8));
    auto extra_items = torch::cat(rows);
    auto extra_users = torch::arange(users, users + others).repeat_interleave(8);
    Interactions all{
        torch::cat({train.users, extra_users}), torch::cat({train.items, extra_items}), {}, {}};
    const UserItemIndex index(all, users + others, items);
    const auto sampler = NegativeSampler::popularity(index, alpha);
    auto counts = torch::bincount(all.items, {}, items).to(torch::kDouble);
    for (int64_t user = 0; user < users; ++user) {
      const int64_t draws = 200000;
      auto drawn = sampler.sample(torch::full({draws}, user, torch::kLong), 1).view(-1);
      auto observed = torch::bincount(drawn, {}, items).to(torch::kDouble);
      auto allowed = torch::ones({items}, torch::kBool);
      allowed.index_put_({train.items.masked_select(train.users == user)}, false);
      if (alpha > 0) allowed &= counts > 0;  // count^0 = 1: every item has mass
      EXPECT_EQ(observed.masked_select(~allowed).sum().item<double>(), 0.0) << "alpha " << alpha;
      auto weight = counts.pow(alpha).masked_select(allowed);
      auto expected = weight / weight.sum() * static_cast<double>(draws);
      auto seen = observed.masked_select(allowed);
      const double chi2 = ((seen - expected).pow(2) / expected).sum().item<double>();
      const double df = static_cast<double>(weight.numel() - 1);
      EXPECT_LT(chi2, df + 6 * std::sqrt(2 * df)) << "alpha " << alpha << " user " << user;
    }
  }
}

// The training batch in one kernel (kernels/negative_draws.h), on the CPU and CUDA.
class NegativeDraws : public ::testing::TestWithParam<std::string> {};

TEST_P(NegativeDraws, BatchRowsFollowTheOrderAndNegativesAvoidPositives) {
  const torch::Device device(GetParam());
  POLYPHONY_SKIP_WITHOUT(device);
  const int64_t users = 30, items = 45;
  const auto train = testing::random_interactions(users, items, 30);
  for (const bool popularity : {false, true}) {
    const UserItemIndex index(train.to(device), users, items);
    const auto sampler =
        popularity ? NegativeSampler::popularity(index, 0.75) : NegativeSampler::uniform(index);
    const auto order = torch::randperm(train.size()).to(device);
    const int64_t first = 7, count = std::min<int64_t>(300, train.size() - first);
    const auto drawn =
        sampler.draw_batch(order, first, count, train.users.to(device), train.items.to(device), 5);
    const auto rows = order.cpu().narrow(0, first, count);
    ASSERT_EQ(drawn.items.sizes(), (std::vector<int64_t>{count, 6}));
    EXPECT_TRUE(torch::equal(drawn.users.cpu(), train.users.index_select(0, rows)));
    EXPECT_TRUE(torch::equal(drawn.items.select(1, 0).cpu(), train.items.index_select(0, rows)));
    const auto negatives = drawn.items.narrow(1, 1, 5).cpu();
    ASSERT_GE(negatives.min().item<int64_t>(), 0);
    ASSERT_LT(negatives.max().item<int64_t>(), items);
    auto is_positive = torch::zeros({users, items}, torch::kBool);
    is_positive.index_put_({train.users, train.items}, true);
    const auto hit =
        is_positive.index({drawn.users.cpu().unsqueeze(1).expand_as(negatives), negatives});
    EXPECT_EQ(hit.sum().item<int64_t>(), 0) << "a positive was drawn as a negative";
  }
}

TEST_P(NegativeDraws, TheGeneratorStateDecidesTheDraws) {
  const torch::Device device(GetParam());
  POLYPHONY_SKIP_WITHOUT(device);
  const auto train = testing::random_interactions(50, 400, 20).to(device);
  const auto sampler = NegativeSampler::uniform(UserItemIndex(train, 50, 400));
  const auto users = torch::randint(50, {1000}).to(device);
  torch::manual_seed(11);
  const auto first = sampler.sample(users, 4);
  const auto second = sampler.sample(users, 4);
  torch::manual_seed(11);
  EXPECT_TRUE(torch::equal(sampler.sample(users, 4), first));
  EXPECT_FALSE(torch::equal(second, first));
}

TEST_P(NegativeDraws, UniformIsUniformOverTheNegatives) {
  const torch::Device device(GetParam());
  POLYPHONY_SKIP_WITHOUT(device);
  const int64_t items = 61;
  const auto positives = torch::randperm(items).slice(0, 0, 20);
  Interactions train{torch::zeros({20}, torch::kLong), positives, {}, {}};
  const auto sampler = NegativeSampler::uniform(UserItemIndex(train.to(device), 1, items));
  const int64_t draws = 100000;
  const auto counts =
      torch::bincount(
          sampler.sample(torch::zeros({draws}, torch::kLong).to(device), 1).view(-1).cpu(), {},
          items)
          .to(torch::kDouble);
  auto negative = torch::ones({items}, torch::kBool);
  negative.index_put_({positives}, false);
  const double expected = static_cast<double>(draws) / (items - 20);
  const double chi2 =
      ((counts.masked_select(negative) - expected).pow(2) / expected).sum().item<double>();
  const double df = static_cast<double>(items - 20 - 1);
  EXPECT_LT(chi2, df + 6 * std::sqrt(2 * df)) << "chi2 " << chi2;
  EXPECT_EQ(counts.masked_select(negative.logical_not()).sum().item<double>(), 0.0);
}

TEST(NegativeDraws, DoNotDependOnTheThreadCount) {
  const auto train = testing::random_interactions(80, 300, 40);
  const auto sampler = NegativeSampler::popularity(UserItemIndex(train, 80, 300), 1.0);
  const auto users = torch::randint(80, {5000});
  std::vector<at::Tensor> draws;
  const int threads = at::get_num_threads();
  for (const int n : {1, 2, 3}) {
    at::set_num_threads(n);
    torch::manual_seed(4);
    draws.push_back(sampler.sample(users, 3));
  }
  at::set_num_threads(threads);
  EXPECT_TRUE(torch::equal(draws[0], draws[1]));
  EXPECT_TRUE(torch::equal(draws[0], draws[2]));
}

INSTANTIATE_TEST_SUITE_P(Devices, NegativeDraws, ::testing::ValuesIn(testing::test_devices()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace polyphony
