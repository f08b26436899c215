#include <gtest/gtest.h>
#include <torch/torch.h>

#include "common/error.h"
#include "engine/data/data_options.h"
#include "engine/data/synthetic.h"
#include "engine/eval/evaluator_options.h"

namespace polyphony {
namespace {

TEST(Synthetic, DemoPresetHasTheStructureTheDemoNeeds) {
  const Dataset d = generate_synthetic(synthetic_preset("music-demo"), "synthetic:music-demo");
  EXPECT_EQ(d.num_users, 3000);
  EXPECT_EQ(d.num_items, 10000);
  const auto& x = d.interactions;
  // No duplicate (user, item) pairs; every user has at least the minimum.
  auto keys = x.users * d.num_items + x.items;
  EXPECT_EQ(std::get<0>(at::_unique(keys)).numel(), x.size());
  EXPECT_GE(torch::bincount(x.users, {}, d.num_users).min().item<int64_t>(), 10);
  // Long tail: the 10% most played items hold far more than 10% of the plays.
  auto plays = torch::bincount(x.items, {}, d.num_items).to(torch::kDouble);
  auto top = std::get<0>(plays.topk(d.num_items / 10));
  EXPECT_GT(top.sum().item<double>() / plays.sum().item<double>(), 0.4);
  // The majority group ("US") is a minority of the catalogue that holds most of the plays.
  auto us = d.item_groups.group_of_item == d.item_groups.over;
  const double catalogue = us.to(torch::kDouble).mean().item<double>();
  const double share = plays.masked_select(us).sum().item<double>() / plays.sum().item<double>();
  EXPECT_LT(catalogue, 0.4);
  EXPECT_GT(share, 0.5);
  EXPECT_EQ(d.item_ids.size(), 10000u);
}

TEST(Synthetic, SameSeedSameDataOtherSeedOtherData) {
  auto o = synthetic_preset("music-small");
  const Dataset a = generate_synthetic(o, "a"), b = generate_synthetic(o, "b");
  EXPECT_TRUE(torch::equal(a.interactions.items, b.interactions.items));
  o.seed += 1;
  const Dataset c = generate_synthetic(o, "c");
  EXPECT_FALSE(a.interactions.size() == c.interactions.size() &&
               torch::equal(a.interactions.items, c.interactions.items));
}

TEST(Synthetic, BadOptionsAreErrors) {
  EXPECT_THROW(synthetic_preset("enormous"), Error);
  SyntheticOptions o;
  o.items = 1;
  EXPECT_THROW(generate_synthetic(o, "x"), Error);
  o = SyntheticOptions{};
  o.majority_share = 1.5;
  EXPECT_THROW(generate_synthetic(o, "x"), Error);
}

TEST(Synthetic, SameDataOnAnyNumberOfThreads) {
  auto o = parse_synthetic("music-small,users=300");
  const int threads = torch::get_num_threads();
  torch::set_num_threads(1);
  const Dataset one = generate_synthetic(o, "a");
  torch::set_num_threads(std::max(2, threads));
  const Dataset many = generate_synthetic(o, "b");
  torch::set_num_threads(threads);
  EXPECT_TRUE(torch::equal(one.interactions.items, many.interactions.items));
  EXPECT_TRUE(torch::equal(one.interactions.timestamps, many.interactions.timestamps));
}

TEST(Synthetic, TimestampsIncreaseWithinEachUsersHistory) {
  const Dataset d = generate_synthetic(synthetic_preset("music-small"), "s");
  const auto& x = d.interactions;
  const int64_t n = x.size();
  auto same_user = x.users.slice(0, 1) == x.users.slice(0, 0, n - 1);
  auto later = x.timestamps.slice(0, 1) > x.timestamps.slice(0, 0, n - 1);
  EXPECT_TRUE(later.masked_select(same_user).all().item<bool>());
}

TEST(Synthetic, ExplicitParametersOverrideThePreset) {
  const auto o = parse_synthetic(
      "music-demo,users=50,items=400,interactions=2000,zipf=1.2,communities=4,seed=9");
  EXPECT_EQ(o.users, 50);
  EXPECT_EQ(o.items, 400);
  EXPECT_DOUBLE_EQ(o.mean_items_per_user, 40);
  EXPECT_DOUBLE_EQ(o.zipf, 1.2);
  EXPECT_EQ(o.communities, 4);
  EXPECT_EQ(o.seed, 9u);
  EXPECT_EQ(parse_synthetic("users=7").items, synthetic_preset("music-demo").items);
  EXPECT_THROW(parse_synthetic("users=ten"), Error);
  EXPECT_THROW(parse_synthetic("users=1.5"), Error);
  EXPECT_THROW(parse_synthetic("users=5,music-small"), Error);
}

}  // namespace
}  // namespace polyphony
