// The finiteness check on the CPU and CUDA against torch's isfinite on fresh random tensors: a
// NaN, +inf or −inf at a random place (first, last, inside, past a vector width), in float32 and
// float64, among other finite tensors.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <limits>
#include <string>
#include <vector>

#include "device_cases.h"
#include "kernels/finite_check.h"

namespace polyphony {
namespace {

class FiniteCheck : public ::testing::TestWithParam<std::string> {};

TEST_P(FiniteCheck, AgreesWithIsfinite) {
  const torch::Device device(GetParam());
  POLYPHONY_SKIP_WITHOUT(device);
  const double bad[] = {std::numeric_limits<double>::quiet_NaN(),
                        std::numeric_limits<double>::infinity(),
                        -std::numeric_limits<double>::infinity()};
  for (const auto dtype : {torch::kFloat, torch::kDouble}) {
    const auto options = torch::dtype(dtype).device(device);
    // Sizes around the partial-sum width and one over a parallel chunk (2^16).
    for (const int64_t n : {1, 15, 16, 17, 1000, 70000}) {
      std::vector<at::Tensor> tensors = {torch::randn({n}, options) * 1e30,
                                         torch::randn({3, 5}, options)};
      EXPECT_TRUE(all_finite(tensors)) << n;
      for (const double value : bad) {
        const int64_t at = torch::randint(n, {1}).item<int64_t>();
        auto poisoned = tensors;
        poisoned[0] = tensors[0].clone();
        poisoned[0][at] = value;
        EXPECT_EQ(all_finite(poisoned), poisoned[0].isfinite().all().item<bool>());
        EXPECT_FALSE(all_finite(poisoned)) << n << " " << value << " at " << at;
      }
    }
  }
  EXPECT_TRUE(all_finite({}));
  EXPECT_THROW(all_finite({torch::ones({2}, torch::dtype(torch::kInt).device(device))}),
               c10::Error);
}

INSTANTIATE_TEST_SUITE_P(Devices, FiniteCheck, ::testing::ValuesIn(testing::test_devices()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace polyphony
