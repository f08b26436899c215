#include <gtest/gtest.h>
#include <torch/torch.h>

#include <set>

#include "common/error.h"
#include "engine/split.h"
#include "test_support.h"

namespace polyphony {
namespace {

std::multiset<int64_t> keys(const Interactions& x, int64_t num_items) {
  auto k = (x.users * num_items + x.items).contiguous();
  return {k.data_ptr<int64_t>(), k.data_ptr<int64_t>() + k.numel()};
}

TEST(RatioSplit, PartitionsEveryInteractionOnceWithPerUserProportions) {
  const int64_t users = 200, items = 300;
  auto all = testing::random_interactions(users, items, 60);
  RatioSplitOptions options;
  options.seed = torch::randint(1 << 30, {1}).item<int64_t>();
  const Split s = split_per_user_ratio(all, users, options);

  auto train = keys(s.train, items), valid = keys(s.valid, items), test = keys(s.test, items);
  std::multiset<int64_t> joined = train;
  joined.insert(valid.begin(), valid.end());
  joined.insert(test.begin(), test.end());
  EXPECT_EQ(joined, keys(all, items));  // nothing lost, nothing duplicated
  for (int64_t k : valid) EXPECT_EQ(train.count(k), 0u);
  for (int64_t k : test) EXPECT_EQ(train.count(k) + valid.count(k), 0u);

  auto count = [&](const Interactions& x) { return torch::bincount(x.users, {}, users); };
  auto n = count(all), n_train = count(s.train), n_valid = count(s.valid);
  for (int64_t u = 0; u < users; ++u) {
    const double total = static_cast<double>(n[u].item<int64_t>());
    const int64_t expected_train = std::max<int64_t>(1, std::llround(0.8 * total));
    EXPECT_EQ(n_train[u].item<int64_t>(), expected_train) << "user " << u;
    EXPECT_EQ(
        n_valid[u].item<int64_t>(),
        std::min<int64_t>(static_cast<int64_t>(total) - expected_train, std::llround(0.1 * total)));
  }
}

TEST(RatioSplit, SameSeedSameSplitOtherSeedOtherSplit) {
  auto all = testing::random_interactions(50, 100, 40);
  RatioSplitOptions a;
  a.seed = 7;
  RatioSplitOptions b = a;
  b.seed = 8;
  const Split s1 = split_per_user_ratio(all, 50, a), s2 = split_per_user_ratio(all, 50, a),
              s3 = split_per_user_ratio(all, 50, b);
  EXPECT_TRUE(torch::equal(s1.test.items, s2.test.items));
  EXPECT_TRUE(torch::equal(s1.train.items, s2.train.items));
  EXPECT_FALSE(s1.test.size() == s3.test.size() && torch::equal(s1.test.items, s3.test.items));
}

TEST(RatioSplit, BadRatiosAreErrors) {
  auto all = testing::random_interactions(5, 10, 5);
  RatioSplitOptions o;
  o.train = 0;
  EXPECT_THROW(split_per_user_ratio(all, 5, o), Error);
  o.train = 0.9;
  o.valid = 0.2;
  EXPECT_THROW(split_per_user_ratio(all, 5, o), Error);
}

}  // namespace
}  // namespace polyphony
