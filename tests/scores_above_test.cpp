#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <string>

#include "device_cases.h"
#include "engine/eval/scores_above.h"

namespace polyphony {
namespace {

using CountFunction = at::Tensor (*)(const at::Tensor&, const at::Tensor&);

// The definition, literally: for each threshold, how many scores of its row are greater.
at::Tensor reference(const at::Tensor& scores, const at::Tensor& thresholds) {
  auto s = scores.cpu().to(torch::kDouble), t = thresholds.cpu().to(torch::kDouble);
  return (s.unsqueeze(1) > t.unsqueeze(2)).sum(2);
}

// Scores on a coarse grid (many ties) with masked (-inf) and NaN entries; each row's thresholds
// are some of its own scores (ties with themselves), a NaN and +inf padding.
std::pair<at::Tensor, at::Tensor> random_case(int64_t rows, int64_t items, int64_t width,
                                              torch::Dtype dtype) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  auto scores = torch::randint(-8, 8, {rows, items}, torch::kDouble) / 4.0;
  scores.masked_fill_(torch::rand({rows, items}) < 0.1, -kInf);
  scores.masked_fill_(torch::rand({rows, items}) < 0.02, NAN);
  auto thresholds = scores.gather(1, torch::randint(items, {rows, width}));
  thresholds.masked_fill_(torch::rand({rows, width}) < 0.1, kInf);
  thresholds.masked_fill_(torch::rand({rows, width}) < 0.05, NAN);
  return {scores.to(dtype), thresholds.to(dtype)};
}

class ScoresAbove : public ::testing::TestWithParam<std::string> {};

TEST_P(ScoresAbove, BothPathsCountWhatTheDefinitionCounts) {
  const torch::Device device(GetParam());
  POLYPHONY_SKIP_WITHOUT(device);
  struct Case {
    int64_t rows, items, width;
  };
  // Rows of up to 128 finite thresholds are counted directly, longer ones by binary search.
  const Case cases[] = {{37, 1001, 33}, {7, 400, 150}, {6, 700, 400}, {5, 3, 7},
                        {1, 1, 1},      {9, 50, 1},    {0, 10, 4},    {3, 10, 0}};
  for (CountFunction count : {&count_scored_above, &count_scored_above_by_sorting}) {
    for (auto dtype : {torch::kFloat, torch::kDouble}) {
      for (const auto& c : cases) {
        auto [scores, thresholds] = random_case(c.rows, c.items, c.width, dtype);
        auto counted = count(scores.to(device), thresholds.to(device));
        const std::string where =
            "rows=" + std::to_string(c.rows) + " items=" + std::to_string(c.items) +
            " width=" + std::to_string(c.width) + " " + std::string(c10::toString(dtype)) +
            (count == &count_scored_above ? " direct" : " by sorting");
        ASSERT_EQ(counted.device().type(), device.type()) << where;
        ASSERT_EQ(counted.scalar_type(), torch::kLong) << where;
        EXPECT_TRUE(torch::equal(counted.cpu(), reference(scores, thresholds))) << where;
      }
    }
  }
}

TEST_P(ScoresAbove, RefusesMismatchedInputs) {
  const torch::Device device(GetParam());
  POLYPHONY_SKIP_WITHOUT(device);
  auto scores = torch::randn({4, 6}, torch::dtype(torch::kFloat).device(device));
  EXPECT_THROW(count_scored_above(scores, scores.narrow(0, 0, 3)), c10::Error);
  EXPECT_THROW(count_scored_above(scores, scores.to(torch::kDouble)), c10::Error);
  EXPECT_THROW(count_scored_above(scores.view({24}), scores), c10::Error);
  EXPECT_THROW(count_scored_above(scores.to(torch::kLong), scores.to(torch::kLong)), c10::Error);
  if (device.is_cuda()) {
    EXPECT_THROW(count_scored_above(scores, scores.cpu()), c10::Error);
  }
}

INSTANTIATE_TEST_SUITE_P(Devices, ScoresAbove, ::testing::ValuesIn(testing::test_devices()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace polyphony
