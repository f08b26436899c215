// Top-K lists against a plain reference: double-precision scores, excluded items removed, a
// stable descending sort (ties to the lower item id).

#include "engine/eval/top_items.h"
#include "engine/data/user_item_index.h"
#include "tests/test_support.h"

namespace polyphony {
namespace {

using testing::FixedScores;

std::vector<int64_t> reference_top(const at::Tensor& row, const std::vector<bool>& excluded,
                                   int64_t k) {
  std::vector<int64_t> order;
  for (int64_t i = 0; i < row.size(0); ++i)
    if (!excluded[i]) order.push_back(i);
  auto values = row.to(torch::kDouble);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return values[a].item<double>() > values[b].item<double>();
  });
  order.resize(std::min<size_t>(order.size(), k));
  while (static_cast<int64_t>(order.size()) < k) order.push_back(-1);
  return order;
}

TEST(TopItems, MatchesTheReferenceWithExclusionsTiesAndShortLists) {
  const int64_t users = 23, items = 12, k = 5;
  // Few distinct values, so ties are everywhere.
  auto scores = torch::randint(0, 4, {users, items}).to(torch::kFloat);
  FixedScores model(scores);
  const Interactions seen = testing::random_interactions(users, items, 11);
  const UserItemIndex index(seen, users, items);
  std::vector<std::vector<bool>> excluded(users, std::vector<bool>(items, false));
  for (int64_t i = 0; i < seen.size(); ++i)
    excluded[seen.users[i].item<int64_t>()][seen.items[i].item<int64_t>()] = true;
  const auto wanted = torch::randperm(users).slice(0, 0, 17);
  for (const int64_t chunk : {1, 4, 1024}) {
    const TopItems top = top_items(model, wanted, k, &index, chunk);
    ASSERT_EQ(top.items.sizes(), (std::vector<int64_t>{17, k}));
    for (int64_t r = 0; r < 17; ++r) {
      const int64_t u = wanted[r].item<int64_t>();
      const auto expected = reference_top(scores[u], excluded[u], k);
      for (int64_t j = 0; j < k; ++j) {
        EXPECT_EQ(top.items[r][j].item<int64_t>(), expected[j]) << "user " << u << " rank " << j;
        if (expected[j] >= 0)
          EXPECT_EQ(top.scores[r][j].item<float>(), scores[u][expected[j]].item<float>());
        else
          EXPECT_TRUE(std::isinf(top.scores[r][j].item<float>()));
      }
    }
  }
  // Without exclusions every list is full.
  const TopItems all = top_items(model, wanted, items + 3, nullptr);
  EXPECT_EQ((all.items >= 0).sum().item<int64_t>(), 17 * items);
}

}  // namespace
}  // namespace polyphony
