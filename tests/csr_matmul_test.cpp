// The CSR × dense product on every kernel target (each compilation of the CPU kernels, and CUDA)
// against the dense product in double precision, on fresh random sparse matrices with empty rows.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>

#include "device_cases.h"
#include "kernels/csr_matmul.h"

namespace polyphony {
namespace {

// A random n × m matrix with about `density` of its entries set and rows 1 and 2 left
// empty, as CSR on `device`.
at::Tensor random_csr(int64_t n, int64_t m, double density, torch::ScalarType dtype,
                      const torch::Device& device) {
  auto dense = torch::randn({n, m}, torch::kDouble) * (torch::rand({n, m}) < density);
  if (n > 3) dense.narrow(0, 1, 2).zero_();
  return dense.to(dtype).to_sparse_csr().to(device);
}

class CsrMatmulParity : public ::testing::TestWithParam<std::string> {};

TEST_P(CsrMatmulParity, MatchesTheDenseProductInDouble) {
  POLYPHONY_KERNEL_TARGET(target, GetParam());
  const torch::Device device = target.device;
  struct Case {
    int64_t n, m, f;
    double density;
  };
  // Feature counts below, at and between vector widths (63: passes of 4, 2 and 1 registers and a
  // tail under AVX2); a row of zeros; a wide, dense matrix.
  const Case cases[] = {{1, 1, 1, 1.0},      {50, 40, 64, 0.1},  {97, 130, 67, 0.05},
                        {300, 200, 5, 0.02}, {8, 500, 128, 0.9}, {0, 7, 3, 0.5},
                        {40, 30, 63, 0.2}};
  for (const auto dtype : {torch::kFloat, torch::kDouble}) {
    if (device.is_cuda() && dtype == torch::kDouble) continue;
    for (const auto& c : cases) {
      const auto a = random_csr(c.n, c.m, c.density, dtype, device);
      const auto x = torch::randn({c.m, c.f}, torch::dtype(dtype).device(device));
      const auto out = csr_matmul(a, x);
      const auto expected = a.to_dense().cpu().to(torch::kDouble).mm(x.cpu().to(torch::kDouble));
      ASSERT_EQ(out.sizes(), expected.sizes());
      const double tolerance = dtype == torch::kFloat ? 1e-4 : 1e-12;
      EXPECT_TRUE(torch::allclose(out.cpu().to(torch::kDouble), expected, tolerance, tolerance))
          << c.n << "x" << c.m << " f " << c.f << " " << dtype;
    }
  }
}

TEST_P(CsrMatmulParity, RefusesMismatchedInputs) {
  POLYPHONY_KERNEL_TARGET(target, GetParam());
  const torch::Device device = target.device;
  const auto a = random_csr(6, 5, 0.5, torch::kFloat, device);
  const auto options = torch::dtype(torch::kFloat).device(device);
  EXPECT_THROW(csr_matmul(a, torch::randn({4, 3}, options)), c10::Error);
  EXPECT_THROW(csr_matmul(a, torch::randn({5}, options)), c10::Error);
  EXPECT_THROW(csr_matmul(a.to_dense(), torch::randn({5, 3}, options)), c10::Error);
  EXPECT_THROW(csr_matmul(a, torch::randn({5, 3}, options.dtype(torch::kDouble))), c10::Error);
}

INSTANTIATE_TEST_SUITE_P(Targets, CsrMatmulParity,
                         ::testing::ValuesIn(testing::kernel_test_targets()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace polyphony
