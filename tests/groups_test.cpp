#include <gtest/gtest.h>
#include <torch/torch.h>

#include "engine/data/data_options.h"
#include "engine/data/groups.h"
#include "engine/eval/evaluator_options.h"
#include "test_support.h"

namespace polyphony {
namespace {

using testing::TempDir;

Dataset dataset_with_ids(int64_t users, int64_t items) {
  Dataset d;
  d.source = "test";
  d.num_users = users;
  d.num_items = items;
  for (int64_t u = 0; u < users; ++u) d.user_ids.push_back("u" + std::to_string(u));
  for (int64_t i = 0; i < items; ++i) d.item_ids.push_back("a" + std::to_string(i));
  return d;
}

// An item of several countries (written US|JP) counts for each listed one in the candidate rank;
// as a group it is neither side's ("other").
TEST(Groups, AnItemOfSeveralCountriesCarriesEach) {
  TempDir dir;
  const auto file =
      dir.write("films.tsv", "movie_id\tcountry\na0\tUS|JP\na1\tJP\na2\tFR|DE\na3\tUS\n");
  const Dataset d = dataset_with_ids(1, 4);
  const auto g = make_item_groups(parse_item_groups("attribute:country=US,FR/JP"), d, {}, file);
  // As a group: the side one of its values is listed on when none is on the other side (FR|DE
  // is over), "other" when both are (US|JP).
  EXPECT_TRUE(torch::equal(g.group_of_item, torch::tensor({2, 1, 0, 0}, torch::kLong)));
  // One side listed: an item with a listed value is on it (a RecBole genre sequence holding it).
  const auto one = make_item_groups(parse_item_groups("attribute:country=US"), d, {}, file);
  EXPECT_TRUE(torch::equal(one.group_of_item, torch::tensor({0, 1, 1, 0}, torch::kLong)));
  EXPECT_TRUE(torch::equal(
      g.value_of_item,
      torch::tensor({{1., 0., 1.}, {0., 0., 1.}, {0., 1., 0.}, {1., 0., 0.}}, torch::kDouble)));
}

TEST(Groups, ItemsByAttributeKeepUnknownApart) {
  TempDir dir;
  const auto file = dir.write("artists.tsv",
                              "id\tname\tcountry\na0\tBjörk\tIS\na1\tX\tUS\na2\tY\tGB\n"
                              "a3\tZ\t\na9\tnot in the data\tUS\n");
  const Dataset d = dataset_with_ids(1, 5);  // a4 has no row
  const Interactions none;
  const auto two = make_item_groups(parse_item_groups("attribute:country=US,GB"), d, none, file);
  EXPECT_EQ(two.names, (std::vector<std::string>{"US+GB", "non-US+GB", "unknown"}));
  EXPECT_TRUE(torch::equal(two.group_of_item, torch::tensor({1, 0, 0, 2, 2}, torch::kLong)));
  EXPECT_EQ(two.over, 0);
  EXPECT_EQ(two.under, 1);
  const auto sided =
      make_item_groups(parse_item_groups("attribute:country=US/IS,JP"), d, none, file);
  EXPECT_EQ(sided.names, (std::vector<std::string>{"US", "IS+JP", "other", "unknown"}));
  EXPECT_TRUE(torch::equal(sided.group_of_item, torch::tensor({1, 0, 2, 3, 3}, torch::kLong)));
  // The listed values and the items carrying each, for the candidate rank: over's, then under's.
  EXPECT_EQ(sided.values, (std::vector<std::string>{"US", "IS", "JP"}));
  EXPECT_EQ(sided.over_values, 1);
  EXPECT_TRUE(torch::equal(
      sided.value_of_item,
      torch::tensor({{0., 1., 0.}, {1., 0., 0.}, {0., 0., 0.}, {0., 0., 0.}, {0., 0., 0.}},
                    torch::kDouble)));
  EXPECT_TRUE(two.values.empty()) << "one side listed: no candidate rank";
  EXPECT_THROW(make_item_groups(parse_item_groups("attribute:country=US"), d, none, ""), Error);
  EXPECT_THROW(make_item_groups(parse_item_groups("attribute:country=US/US"), d, none, file),
               Error);
  // Groups nothing falls into would give a NaN gap: refused, naming the value or the file.
  EXPECT_CONTAINS(testing::error_of([&] {
                    make_item_groups(parse_item_groups("attribute:country=Narnia"), d, none, file);
                  }),
                  "no item has the value Narnia in column 'country'");
  EXPECT_CONTAINS(testing::error_of([&] {
                    make_item_groups(parse_item_groups("attribute:country=US/Narnia,Oz"), d, none,
                                     file);
                  }),
                  "no item has any of the values Narnia, Oz in column 'country'");
  const auto header_only = dir.write("header.tsv", "id\tcountry\n");
  EXPECT_EQ(testing::error_of([&] {
              make_item_groups(parse_item_groups("attribute:country=US"), d, none, header_only);
            }),
            header_only.string() +
                ": no item of the dataset has a value in column 'country' (`item_groups` "
                "'attribute:country=US')");
}

TEST(Groups, PopularityHeadHoldsTheShare) {
  const int64_t items = 200;
  Dataset d = dataset_with_ids(1, items);
  // Zipf-like counts: item i has 1000 / (i + 1) interactions (random order of items).
  auto counts = (1000.0 / (torch::arange(items) + 1).to(torch::kDouble)).ceil().to(torch::kLong);
  auto perm = torch::randperm(items);
  auto item_counts = torch::zeros({items}, torch::kLong).index_put_({perm}, counts);
  Interactions train;
  train.items = torch::repeat_interleave(torch::arange(items), item_counts);
  train.users = torch::zeros_like(train.items);
  const auto g = make_item_groups(parse_item_groups("popularity:0.3"), d, train, "");
  const auto head = g.group_of_item == 0;
  const double total = item_counts.sum().item<double>();
  const double head_share = item_counts.masked_select(head).sum().item<double>() / total;
  EXPECT_GE(head_share, 0.3);
  // Minimal: without its least popular member the head would hold less than the share.
  const double smallest = item_counts.masked_select(head).min().item<double>();
  EXPECT_LT(head_share - smallest / total, 0.3);
  // Every head item is at least as popular as every tail item.
  EXPECT_GE(smallest, item_counts.masked_select(~head).max().item<double>());
}

TEST(Groups, UsersByAttributeBinsAndActivity) {
  TempDir dir;
  const auto file =
      dir.write("users.csv", "user,country,age\nu0,SE,17\nu1,BR,34\nu2,SE,\nu3,,61\n");
  const Dataset d = dataset_with_ids(4, 3);
  Interactions train;
  train.users = torch::tensor({0, 1, 1, 1, 2, 3, 3}, torch::kLong);
  train.items = torch::zeros_like(train.users);
  const auto by_country = make_user_groups(parse_user_groups("attribute:country"), d, train, file);
  EXPECT_EQ(by_country.names, (std::vector<std::string>{"BR", "SE", "unknown"}));
  EXPECT_TRUE(torch::equal(by_country.group_of_user, torch::tensor({1, 0, 1, 2}, torch::kLong)));
  const auto by_age = make_user_groups(parse_user_groups("attribute:age@18,35"), d, train, file);
  EXPECT_EQ(by_age.names, (std::vector<std::string>{"<18", "[18,35)", ">=35", "unknown"}));
  EXPECT_TRUE(torch::equal(by_age.group_of_user, torch::tensor({0, 1, 3, 2}, torch::kLong)));
  const auto by_activity = make_user_groups(parse_user_groups("activity:2"), d, train, file);
  EXPECT_EQ(by_activity.names, (std::vector<std::string>{"Q1", "Q2"}));
  // Activity 1, 3, 1, 2: the least active half is users 0 and 2.
  EXPECT_TRUE(torch::equal(by_activity.group_of_user, torch::tensor({0, 1, 0, 1}, torch::kLong)));
  EXPECT_THROW(make_user_groups(parse_user_groups("attribute:age@35,18"), d, train, file), Error);
  EXPECT_THROW(make_user_groups(parse_user_groups("attribute:country@1"), d, train, file),
               Error);  // not numeric
  EXPECT_THROW(make_user_groups(parse_user_groups("activity:0"), d, train, file), Error);
  const auto no_common_id = dir.write("others.csv", "user,country\nx9,SE\n");
  EXPECT_CONTAINS(testing::error_of([&] {
                    make_user_groups(parse_user_groups("attribute:country"), d, train,
                                     no_common_id);
                  }),
                  "others.csv: no user of the dataset has a value in column 'country'");
}

TEST(Groups, MostPopularItemsAreTheTopFractionTiesToTheLowerIndex) {
  // Counts 5 1 3 3 0 9 2 3 0 1: ten items, the top 20 % are items 5 and 0; the top 40 % add two
  // of the three items with 3 (2 and 3, the lower indices).
  const auto counts = torch::tensor({5, 1, 3, 3, 0, 9, 2, 3, 0, 1}, torch::kLong);
  EXPECT_TRUE(torch::equal(most_popular_items(counts, 0.2).nonzero().squeeze(1),
                           torch::tensor({0, 5}, torch::kLong)));
  EXPECT_TRUE(torch::equal(most_popular_items(counts, 0.4).nonzero().squeeze(1),
                           torch::tensor({0, 2, 3, 5}, torch::kLong)));
  EXPECT_EQ(most_popular_items(counts, 0.15).sum().item<int64_t>(), 2);  // ceil(1.5)
  EXPECT_EQ(most_popular_items(counts, 1.0).sum().item<int64_t>(), 10);
}

TEST(Groups, QuantileGroupsHaveEqualSizes) {
  auto score = torch::rand({1000}, torch::kDouble);
  const auto g = quantile_groups(score, 5);
  EXPECT_TRUE(torch::equal(torch::bincount(g, {}, 5), torch::full({5}, 200, torch::kLong)));
  // Monotone: a higher group never holds a lower score.
  for (int64_t q = 0; q + 1 < 5; ++q)
    EXPECT_LE(score.masked_select(g == q).max().item<double>(),
              score.masked_select(g == q + 1).min().item<double>());
}

}  // namespace
}  // namespace polyphony
