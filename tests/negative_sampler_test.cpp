#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <set>

#include "engine/negative_sampler.h"
#include "test_support.h"

namespace polyphony {
namespace {

TEST(UniformNegativeSampler, NeverReturnsAPositiveAndReachesEveryNegative) {
  const int64_t users = 40, items = 57;
  auto train = testing::random_interactions(users, items, 50);
  const UserItemIndex index(train, users, items);
  const UniformNegativeSampler sampler(index);
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

TEST(UniformNegativeSampler, IsUniformOverTheNegatives) {
  const int64_t items = 101;
  // One user with a random set of positives.
  auto positives = torch::randperm(items).slice(0, 0, 30);
  Interactions train{torch::zeros({30}, torch::kLong), positives};
  const UniformNegativeSampler sampler(UserItemIndex(train, 1, items));
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

}  // namespace
}  // namespace polyphony
