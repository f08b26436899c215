#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "common/error.h"
#include "engine/data/data_options.h"
#include "engine/data/split.h"
#include "engine/eval/evaluator_options.h"
#include "test_support.h"

namespace polyphony {
namespace {

std::multiset<int64_t> keys(const Interactions& x, int64_t num_items) {
  auto k = (x.users * num_items + x.items).contiguous();
  return {k.data_ptr<int64_t>(), k.data_ptr<int64_t>() + k.numel()};
}

// A dataset of random interactions with random distinct timestamps.
Dataset random_dataset(int64_t users, int64_t items, int64_t max_per_user) {
  Dataset d;
  d.source = "random";
  d.num_users = users;
  d.num_items = items;
  d.interactions = testing::random_interactions(users, items, max_per_user);
  d.interactions.timestamps = torch::randperm(d.interactions.size()) * 7 + 1000;
  for (int64_t u = 0; u < users; ++u) d.user_ids.push_back("u" + std::to_string(u));
  for (int64_t i = 0; i < items; ++i) d.item_ids.push_back("i" + std::to_string(i));
  return d;
}

void expect_partition(const Dataset& d, const Split& s) {
  const int64_t items = d.num_items;
  auto train = keys(s.train, items), valid = keys(s.valid, items), test = keys(s.test, items);
  std::multiset<int64_t> joined = train;
  joined.insert(valid.begin(), valid.end());
  joined.insert(test.begin(), test.end());
  const auto dropped = d.interactions.select((s.part == 3).nonzero().squeeze(1));
  auto gone = keys(dropped, items);
  joined.insert(gone.begin(), gone.end());
  EXPECT_EQ(joined, keys(d.interactions, items));  // nothing lost, nothing duplicated
  for (int64_t k : valid) EXPECT_EQ(train.count(k), 0u);
  for (int64_t k : test) EXPECT_EQ(train.count(k) + valid.count(k), 0u);
  // Every user with held-out data has training data.
  auto has_train = torch::bincount(s.train.users, {}, d.num_users) > 0;
  EXPECT_TRUE(has_train.index_select(0, s.valid.users).all().item<bool>());
  EXPECT_TRUE(has_train.index_select(0, s.test.users).all().item<bool>());
}

TEST(Split, RatioPartitionsWithPerUserProportions) {
  const Dataset d = random_dataset(200, 300, 60);
  SplitOptions options = parse_split("ratio:0.8,0.1");
  options.seed = torch::randint(1 << 30, {1}).item<int64_t>();
  const Split s = make_split(d, options);
  expect_partition(d, s);
  auto count = [&](const Interactions& x) { return torch::bincount(x.users, {}, d.num_users); };
  auto n = count(d.interactions), n_train = count(s.train), n_valid = count(s.valid);
  for (int64_t u = 0; u < d.num_users; ++u) {
    const double total = static_cast<double>(n[u].item<int64_t>());
    const int64_t expected_train = std::max<int64_t>(1, std::llround(0.8 * total));
    EXPECT_EQ(n_train[u].item<int64_t>(), expected_train) << "user " << u;
    EXPECT_EQ(
        n_valid[u].item<int64_t>(),
        std::min<int64_t>(static_cast<int64_t>(total) - expected_train, std::llround(0.1 * total)));
  }
  // Timestamps travel with their interactions.
  EXPECT_TRUE(s.test.timestamps.defined());
  EXPECT_EQ(s.test.timestamps.numel(), s.test.size());
}

TEST(Split, SameSeedSameSplitOtherSeedOtherSplit) {
  const Dataset d = random_dataset(50, 100, 40);
  SplitOptions a = parse_split("ratio:0.8,0.1"), b = a;
  a.seed = 7;
  b.seed = 8;
  const Split s1 = make_split(d, a), s2 = make_split(d, a), s3 = make_split(d, b);
  EXPECT_TRUE(torch::equal(s1.part, s2.part));
  EXPECT_EQ(s1.fingerprint, s2.fingerprint);
  EXPECT_FALSE(torch::equal(s1.part, s3.part));
  EXPECT_NE(s1.fingerprint, s3.fingerprint);
}

TEST(Split, BadSharesAreErrors) {
  const Dataset d = random_dataset(5, 10, 5);
  EXPECT_THROW(make_split(d, parse_split("ratio:0,0.1")), Error);
  EXPECT_THROW(make_split(d, parse_split("ratio:0.9,0.2")), Error);
  EXPECT_THROW(make_split(d, parse_split("temporal:1.2,0")), Error);
}

TEST(Split, LeaveLastOutHoldsOutEachUsersLatestInteractions) {
  Dataset d = random_dataset(80, 200, 20);
  // Users with a single interaction are an error (BadInput tests it); keep the others.
  const auto n_all = torch::bincount(d.interactions.users, {}, d.num_users);
  d.interactions = d.interactions.select(
      (n_all.index_select(0, d.interactions.users) >= 2).nonzero().squeeze(1));
  const Split s = make_split(d, parse_split("loo:last"));
  expect_partition(d, s);
  const auto n = torch::bincount(d.interactions.users, {}, d.num_users);
  const auto latest =
      torch::full({d.num_users}, -1, torch::kLong)
          .scatter_reduce(0, d.interactions.users, d.interactions.timestamps, "amax");
  EXPECT_TRUE(
      torch::equal(torch::bincount(s.test.users, {}, d.num_users), (n >= 2).to(torch::kLong)));
  EXPECT_TRUE(
      torch::equal(torch::bincount(s.valid.users, {}, d.num_users), (n >= 3).to(torch::kLong)));
  EXPECT_TRUE(torch::equal(s.test.timestamps, latest.index_select(0, s.test.users)));
  // Validation is the second latest: later than all of the user's training interactions.
  auto latest_train = torch::full({d.num_users}, -1, torch::kLong)
                          .scatter_reduce(0, s.train.users, s.train.timestamps, "amax");
  EXPECT_TRUE(
      (s.valid.timestamps > latest_train.index_select(0, s.valid.users)).all().item<bool>());
}

TEST(Split, LeaveRandomOutIsSeededAndNeedsNoTimestamps) {
  Dataset d = random_dataset(60, 100, 20);
  const auto n_all = torch::bincount(d.interactions.users, {}, d.num_users);
  d.interactions = d.interactions.select(
      (n_all.index_select(0, d.interactions.users) >= 2).nonzero().squeeze(1));
  d.interactions.timestamps = at::Tensor();
  EXPECT_THROW(make_split(d, parse_split("loo:last")), Error);
  SplitOptions o = parse_split("loo:random");
  const Split a = make_split(d, o), b = make_split(d, o);
  expect_partition(d, a);
  EXPECT_TRUE(torch::equal(a.part, b.part));
  o.seed += 1;
  EXPECT_FALSE(torch::equal(a.part, make_split(d, o).part));
}

TEST(Split, TemporalCutIsGlobalAndDropsColdUsers) {
  const Dataset d = random_dataset(100, 200, 30);
  const Split s = make_split(d, parse_split("temporal:0.7,0.1"));
  expect_partition(d, s);
  const int64_t n = d.interactions.size();
  // The proportions hold before dropping: train is exactly the earliest 70%.
  EXPECT_EQ(s.train.size(), std::llround(0.7 * n));
  EXPECT_EQ(s.valid.size() + s.test.size() + s.dropped, n - s.train.size());
  EXPECT_LE(s.train.timestamps.max().item<int64_t>(), s.valid.timestamps.min().item<int64_t>());
  EXPECT_LE(s.valid.timestamps.max().item<int64_t>(), s.test.timestamps.min().item<int64_t>());
  EXPECT_EQ((s.part == 3).sum().item<int64_t>(), s.dropped);
}

TEST(Split, PredefinedPartsAreKept) {
  Dataset d = random_dataset(30, 50, 10);
  auto part = torch::zeros({d.interactions.size()}, torch::kByte);
  // The last interaction of every user with at least two is test.
  auto users = d.interactions.users;
  auto last = torch::zeros({d.num_users}, torch::kLong)
                  .scatter_reduce(0, users, torch::arange(users.numel()), "amax");
  auto n = torch::bincount(users, {}, d.num_users);
  part.index_put_({last.masked_select(n >= 2)}, 2);
  d.predefined_part = part;
  const Split s = make_split(d, parse_split("files"));
  EXPECT_TRUE(torch::equal(s.part, part));
  EXPECT_EQ(s.test.size(), (n >= 2).sum().item<int64_t>());
  d.predefined_part = at::Tensor();
  EXPECT_THROW(make_split(d, parse_split("files")), Error);
}

// files:VALID carves a seeded validation part out of each user's training interactions (the
// test file's stay test), keeping at least one training interaction per user.
TEST(Split, PredefinedFilesWithoutValidationGetOneCarvedFromTraining) {
  Dataset d = random_dataset(40, 60, 12);
  auto part = torch::zeros({d.interactions.size()}, torch::kByte);
  const auto users = d.interactions.users;
  const auto last = torch::zeros({d.num_users}, torch::kLong)
                        .scatter_reduce(0, users, torch::arange(users.numel()), "amax");
  const auto n = torch::bincount(users, {}, d.num_users);
  part.index_put_({last.masked_select(n >= 2)}, 2);
  d.predefined_part = part;
  const auto options = parse_split("files:0.25");
  const Split s = make_split(d, options);
  expect_partition(d, s);
  EXPECT_TRUE(torch::equal(s.part == 2, part == 2)) << "the test file's interactions stay test";
  const auto train_n = torch::bincount(s.train.users, {}, d.num_users);
  const auto valid_n = torch::bincount(s.valid.users, {}, d.num_users);
  const auto before = torch::bincount(users.masked_select(part == 0), {}, d.num_users);
  for (int64_t u = 0; u < d.num_users; ++u) {
    const int64_t had = before[u].item<int64_t>();
    if (had == 0) continue;
    const int64_t want = std::min<int64_t>(had - 1, std::llround(0.25 * static_cast<double>(had)));
    EXPECT_EQ(valid_n[u].item<int64_t>(), want) << "user " << u;
    EXPECT_GE(train_n[u].item<int64_t>(), 1) << "user " << u;
  }
  EXPECT_GT(s.valid.size(), 0);
  EXPECT_TRUE(torch::equal(make_split(d, options).part, s.part)) << "seeded";
  auto other_seed = options;
  other_seed.seed += 1;
  EXPECT_FALSE(torch::equal(make_split(d, other_seed).part, s.part));
  EXPECT_EQ(options.spec(), "files:0.25");
  // A folder with its own validation file keeps it; a share then is an error.
  part.index_put_({torch::tensor({0})}, 1);
  d.predefined_part = part;
  EXPECT_NE(testing::error_of([&] { make_split(d, options); }).find("has a validation file"),
            std::string::npos);
  for (const char* bad : {"files:0", "files:1", "files:x", "files:-0.1"})
    EXPECT_THROW(parse_split(bad), Error) << bad;
}

}  // namespace
}  // namespace polyphony
