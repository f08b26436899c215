#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>
#include <set>

#include "engine/data/preprocess.h"
#include "test_support.h"

namespace polyphony {
namespace {

InteractionLog log_of(const std::vector<std::pair<int64_t, int64_t>>& pairs) {
  InteractionLog log;
  for (const auto& [u, i] : pairs) {
    log.users.push_back(log.user_ids.index_of(u));
    log.items.push_back(log.item_ids.index_of(i));
    ++log.records;
  }
  return log;
}

TEST(Preprocess, DuplicatesMergeIntoTheFirstOccurrence) {
  InteractionLog log = log_of({{1, 10}, {2, 10}, {1, 10}, {1, 11}, {2, 10}});
  log.weights = {1, 2, 3, 4, 5};
  log.timestamps = {50, 40, 30, 20, 10};
  PreprocessReport report;
  const Dataset d = dataset_from_log(std::move(log), "test", report);
  EXPECT_EQ(report.duplicates, 2);
  const auto& x = d.interactions;
  ASSERT_EQ(x.size(), 3);
  // File order of first occurrences: (1,10), (2,10), (1,11).
  EXPECT_TRUE(torch::equal(x.users, torch::tensor({0, 1, 0}, torch::kLong)));
  EXPECT_TRUE(torch::equal(x.items, torch::tensor({0, 0, 1}, torch::kLong)));
  EXPECT_TRUE(torch::equal(x.weights, torch::tensor({4.f, 7.f, 4.f})));                // summed
  EXPECT_TRUE(torch::equal(x.timestamps, torch::tensor({30, 10, 20}, torch::kLong)));  // earliest
}

// The k-core by definition: the largest subset where every user and item has at least k_u / k_i
// interactions, found by removing offenders one at a time until none is left.
std::set<std::pair<int64_t, int64_t>> reference_core(std::set<std::pair<int64_t, int64_t>> pairs,
                                                     int64_t ku, int64_t ki) {
  for (bool changed = true; changed;) {
    changed = false;
    std::map<int64_t, int64_t> nu, ni;
    for (const auto& [u, i] : pairs) ++nu[u], ++ni[i];
    for (auto it = pairs.begin(); it != pairs.end();) {
      if (nu[it->first] < ku || ni[it->second] < ki) {
        it = pairs.erase(it);
        changed = true;
      } else {
        ++it;
      }
    }
  }
  return pairs;
}

TEST(Preprocess, KCoreReachesTheFixpoint) {
  for (int trial = 0; trial < 5; ++trial) {
    const auto x = testing::random_interactions(60, 80, 20);
    std::vector<std::pair<int64_t, int64_t>> list;
    std::set<std::pair<int64_t, int64_t>> all;
    for (int64_t k = 0; k < x.size(); ++k) {
      list.emplace_back(x.users[k].item<int64_t>(), x.items[k].item<int64_t>());
      all.insert(list.back());
    }
    const int64_t ku = 2 + trial, ki = 3;
    PreprocessReport report;
    Dataset d = dataset_from_log(log_of(list), "test", report);
    filter_by_counts(d, {ku, ki, true}, report);
    std::set<std::pair<int64_t, int64_t>> kept;
    for (int64_t k = 0; k < d.interactions.size(); ++k)
      kept.emplace(std::stoll(d.user_ids[d.interactions.users[k].item<int64_t>()]),
                   std::stoll(d.item_ids[d.interactions.items[k].item<int64_t>()]));
    EXPECT_EQ(kept, reference_core(all, ku, ki)) << "trial " << trial;
    // Dense again: every index in range is used.
    EXPECT_EQ(torch::bincount(d.interactions.users, {}, d.num_users).min().item<int64_t>() >= ku,
              true);
    EXPECT_EQ(torch::bincount(d.interactions.items, {}, d.num_items).min().item<int64_t>() >= ki,
              true);
    EXPECT_EQ(report.removed_by_counts, static_cast<int64_t>(all.size() - kept.size()));
  }
}

TEST(Preprocess, OnePassFilterIsNotTheCore) {
  // User 1 has 2 items; item 11 only has user 1. One pass with min item 2 removes (1,11), which
  // leaves user 1 with one interaction: kept in one pass, removed by the iterated core.
  const std::vector<std::pair<int64_t, int64_t>> list = {{0, 10}, {0, 12}, {1, 10},
                                                         {1, 11}, {2, 10}, {2, 12}};
  PreprocessReport report;
  Dataset once = dataset_from_log(log_of(list), "test", report);
  filter_by_counts(once, {2, 2, false}, report);
  EXPECT_EQ(once.interactions.size(), 5);
  Dataset core = dataset_from_log(log_of(list), "test", report);
  filter_by_counts(core, {2, 2, true}, report);
  EXPECT_EQ(core.interactions.size(), 4);
  EXPECT_EQ(core.user_ids, (std::vector<std::string>{"0", "2"}));
  EXPECT_EQ(core.item_ids, (std::vector<std::string>{"10", "12"}));
}

TEST(Preprocess, FilteringEverythingAwayIsAnError) {
  PreprocessReport report;
  Dataset d = dataset_from_log(log_of({{0, 1}, {1, 2}}), "tiny", report);
  EXPECT_NE(testing::error_of([&] {
              filter_by_counts(d, {5, 1, true}, report);
            }).find("no interaction is left after the count filters"),
            std::string::npos);
}

}  // namespace
}  // namespace polyphony
