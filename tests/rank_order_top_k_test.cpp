// The rank-order top-K selection of evaluation and `recommend` against the definition: a stable
// sort of each row in double precision, highest first, NaN above every number. Both paths (the
// CPU heap and the at::topk one) on every device, with ties at the cut-off everywhere.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "device_cases.h"
#include "engine/eval/rank_order_top_k.h"

namespace polyphony {
namespace {

using TopKFunction = at::Tensor (*)(const at::Tensor&, int64_t);

at::Tensor reference(const at::Tensor& scores, int64_t k) {
  auto s = scores.cpu().to(torch::kDouble).contiguous();
  auto out = torch::empty({s.size(0), k}, torch::kLong);
  for (int64_t r = 0; r < s.size(0); ++r) {
    const double* row = s.data_ptr<double>() + r * s.size(1);
    std::vector<int64_t> order(static_cast<size_t>(s.size(1)));
    std::iota(order.begin(), order.end(), int64_t{0});
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      if (std::isnan(row[a]) || std::isnan(row[b]))
        return std::isnan(row[a]) && !std::isnan(row[b]);
      return row[a] > row[b];
    });
    for (int64_t j = 0; j < k; ++j) out[r][j] = order[static_cast<size_t>(j)];
  }
  return out;
}

// Scores on a coarse grid (runs of equal scores at every cut-off), with −0 and +0, ±inf and NaN.
at::Tensor random_scores(int64_t rows, int64_t items) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  auto scores = torch::randint(-6, 6, {rows, items}, torch::kDouble) / 4.0;
  scores.masked_fill_(scores == 0, -0.0).masked_fill_(torch::rand({rows, items}) < 0.05, 0.0);
  scores.masked_fill_(torch::rand({rows, items}) < 0.1, -kInf);
  scores.masked_fill_(torch::rand({rows, items}) < 0.02, kInf);
  scores.masked_fill_(torch::rand({rows, items}) < 0.02, NAN);
  return scores.to(torch::kFloat);
}

class RankOrderTopK : public ::testing::TestWithParam<std::string> {};

TEST_P(RankOrderTopK, BothPathsListWhatAStableSortLists) {
  const torch::Device device(GetParam());
  POLYPHONY_SKIP_WITHOUT(device);
  struct Case {
    int64_t rows, items, k;
  };
  const Case cases[] = {{41, 1001, 100}, {17, 300, 1}, {9, 64, 64},  {5, 3, 2},
                        {1, 1, 1},       {0, 10, 4},   {33, 500, 37}};
  for (TopKFunction top_k : {&rank_order_top_k, &rank_order_top_k_by_topk}) {
    for (const auto& c : cases) {
      auto scores = random_scores(c.rows, c.items);
      auto listed = top_k(scores.to(device), c.k);
      const std::string where = "rows=" + std::to_string(c.rows) +
                                " items=" + std::to_string(c.items) + " k=" + std::to_string(c.k) +
                                (top_k == &rank_order_top_k ? " direct" : " by topk");
      ASSERT_EQ(listed.device().type(), device.type()) << where;
      ASSERT_EQ(listed.scalar_type(), torch::kLong) << where;
      EXPECT_TRUE(torch::equal(listed.cpu(), reference(scores, c.k))) << where;
    }
  }
}

TEST_P(RankOrderTopK, RowsInAscendingOrderRaiseTheBarOften) {
  const torch::Device device(GetParam());
  POLYPHONY_SKIP_WITHOUT(device);
  // Every later item beats the earlier ones (each gathering of 4k candidates ends in a new bar),
  // with runs of equal scores; then the same rows reversed.
  auto ascending =
      (torch::arange(3000, torch::kDouble) / 3).floor().to(torch::kFloat).expand({4, 3000});
  for (const auto& scores : {ascending.contiguous(), ascending.flip(1).contiguous()})
    for (int64_t k : {1, 7, 100}) {
      auto listed = rank_order_top_k(scores.to(device), k).cpu();
      EXPECT_TRUE(torch::equal(listed, reference(scores, k))) << "k=" << k;
    }
}

TEST_P(RankOrderTopK, PeriodicRowsThatMisleadASampleOfTheRow) {
  const torch::Device device(GetParam());
  POLYPHONY_SKIP_WITHOUT(device);
  // Every `period`-th item (from an offset) far above, NaN, or −inf, whatever the stride at which
  // the selection samples a row: a first bar from the sample may then let fewer than k items pass
  // (the row is read again), or far more.
  constexpr float kInf = std::numeric_limits<float>::infinity();
  for (float spike : {100.0f, NAN, -kInf, kInf})
    for (int64_t period : {2, 3, 4, 5, 8, 12, 13, 16, 25})
      for (int64_t offset : {int64_t{0}, period / 2}) {
        auto scores = torch::randn({3, 2000});
        scores.narrow(1, offset, 2000 - offset).slice(1, 0, c10::nullopt, period).fill_(spike);
        for (int64_t k : {32, 100, 250}) {
          auto listed = rank_order_top_k(scores.to(device), k).cpu();
          EXPECT_TRUE(torch::equal(listed, reference(scores, k)))
              << "spike " << spike << " period " << period << " offset " << offset << " k " << k;
        }
      }
}

TEST_P(RankOrderTopK, ListsDoNotDependOnTheCutOffOrTheRowLength) {
  const torch::Device device(GetParam());
  POLYPHONY_SKIP_WITHOUT(device);
  // Every score equal: the lowest indices win, in index order, at any k and any row length.
  auto scores = torch::ones({3, 200}, torch::dtype(torch::kFloat).device(device));
  for (int64_t k : {1, 10, 100})
    for (int64_t items : {100, 200}) {
      auto listed = rank_order_top_k(scores.narrow(1, 0, items), k).cpu();
      EXPECT_TRUE(torch::equal(listed, torch::arange(k).expand({3, k}))) << k << " " << items;
    }
}

TEST_P(RankOrderTopK, RefusesBadInputs) {
  const torch::Device device(GetParam());
  POLYPHONY_SKIP_WITHOUT(device);
  auto scores = torch::randn({4, 6}, torch::dtype(torch::kFloat).device(device));
  EXPECT_THROW(rank_order_top_k(scores, 0), c10::Error);
  EXPECT_THROW(rank_order_top_k(scores, 7), c10::Error);
  EXPECT_THROW(rank_order_top_k(scores.to(torch::kDouble), 2), c10::Error);
  EXPECT_THROW(rank_order_top_k(scores.view({24}), 2), c10::Error);
}

INSTANTIATE_TEST_SUITE_P(Devices, RankOrderTopK, ::testing::ValuesIn(testing::test_devices()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace polyphony
