// A training step's bookkeeping kernel on the CPU and CUDA against the same sums in double on the
// host: term sums, the total's, and the health that the first non-finite step clears.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "device_cases.h"
#include "kernels/step_sums.h"

namespace polyphony {
namespace {

class StepSums : public ::testing::TestWithParam<std::string> {};

TEST_P(StepSums, AddsTermsAndTheirTotalAndKeepsTheHealth) {
  const torch::Device device(GetParam());
  POLYPHONY_SKIP_WITHOUT(device);
  const auto f64 = torch::dtype(torch::kDouble).device(device);
  auto sums = torch::zeros({4}, f64);
  auto health = torch::tensor({1.0, 0.0}, torch::kDouble).to(device);
  std::vector<double> expected(4, 0.0);
  double finite_steps = 0;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  // Steps 0-3 finite, step 4 a NaN term, step 5 finite again: health stays cleared.
  const std::vector<std::vector<double>> steps = {{0.5, 1.25, -2}, {3, 0, 1e-3}, {-7.5, 2, 2},
                                                  {1, 1, 1},       {1, nan, 1},  {2, 2, 2}};
  const double share = 0.375;
  for (size_t k = 0; k < steps.size(); ++k) {
    std::vector<at::Tensor> terms;
    double total = 0;
    for (size_t t = 0; t < steps[k].size(); ++t) {
      // float32 and float64 terms mixed, as a model's may be.
      const auto dtype = t % 2 ? torch::kDouble : torch::kFloat;
      terms.push_back(torch::tensor(steps[k][t], torch::kDouble).to(device, dtype));
      const double value = terms.back().cpu().to(torch::kDouble).item<double>();
      expected[t] += share * value;
      total += value;
    }
    expected[3] += share * total;
    if (k < 4) finite_steps += 1;
    accumulate_step_terms(sums, terms, at::Tensor(), share, health);
    if (k < 4) {
      const auto got = sums.cpu();
      for (int t = 0; t < 4; ++t)
        EXPECT_NEAR(got[t].item<double>(), expected[t], 1e-12) << "step " << k << " term " << t;
    }
  }
  EXPECT_EQ(health.cpu()[0].item<double>(), 0.0);
  EXPECT_EQ(health.cpu()[1].item<double>(), finite_steps);
}

TEST_P(StepSums, AnotherValueAndEmptyStepsCountForTheHealth) {
  const torch::Device device(GetParam());
  POLYPHONY_SKIP_WITHOUT(device);
  auto health = torch::tensor({1.0, 0.0}, torch::kDouble).to(device);
  const auto finite_norm = torch::tensor(2.5f).to(device);
  const auto infinite_norm = torch::tensor(std::numeric_limits<float>::infinity()).to(device);
  accumulate_step_terms({}, {}, finite_norm, 1.0, health);  // a step without rows: finite
  accumulate_step_terms({}, {}, at::Tensor(), 1.0, health);
  EXPECT_EQ(health.cpu()[1].item<double>(), 2.0);
  auto sums = torch::zeros({2}, torch::dtype(torch::kDouble).device(device));
  accumulate_step_terms(sums, {torch::tensor(1.0f).to(device)}, infinite_norm, 1.0, health);
  EXPECT_EQ(health.cpu()[0].item<double>(), 0.0);
  EXPECT_EQ(health.cpu()[1].item<double>(), 2.0);
  EXPECT_EQ(sums.cpu()[1].item<double>(), 1.0);
}

TEST_P(StepSums, RefusesMismatchedInputs) {
  const torch::Device device(GetParam());
  POLYPHONY_SKIP_WITHOUT(device);
  auto health = torch::tensor({1.0, 0.0}, torch::kDouble).to(device);
  const auto term = torch::tensor(1.0f).to(device);
  auto sums = torch::zeros({2}, torch::dtype(torch::kDouble).device(device));
  EXPECT_THROW(accumulate_step_terms(sums, {term, term}, {}, 1, health), c10::Error);
  EXPECT_THROW(accumulate_step_terms(sums.to(torch::kFloat), {term}, {}, 1, health), c10::Error);
  EXPECT_THROW(accumulate_step_terms(sums, {term.view({1}).repeat(2)}, {}, 1, health), c10::Error);
  EXPECT_THROW(accumulate_step_terms(sums, {term.to(torch::kInt)}, {}, 1, health), c10::Error);
  EXPECT_THROW(accumulate_step_terms(sums, {term}, {}, 1, health.to(torch::kFloat)), c10::Error);
  EXPECT_THROW(accumulate_step_terms(sums, std::vector<at::Tensor>(17, term), {}, 1, health),
               c10::Error);
}

INSTANTIATE_TEST_SUITE_P(Devices, StepSums, ::testing::ValuesIn(testing::test_devices()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace polyphony
