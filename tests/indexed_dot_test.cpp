// The indexed dot product on every kernel target (each compilation of the CPU kernel, and CUDA)
// against plain torch operations in double precision, values and gradients, on fresh random
// inputs with repeated and unnamed table rows.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <string>
#include <vector>

#include "device_cases.h"
#include "kernels/indexed_dot.h"

namespace polyphony {
namespace {

class IndexedDotParity : public ::testing::TestWithParam<std::string> {};

TEST_P(IndexedDotParity, MatchesGatheredProductsInDouble) {
  POLYPHONY_KERNEL_TARGET(target, GetParam());
  struct Case {
    int64_t b, n, d, f;
  };
  // ProtoMF's batch; widths below, at and between vector widths; empty batches and slots.
  const Case cases[] = {{326, 39, 500, 152}, {5, 3, 10, 1}, {9, 4, 2, 17},
                        {40, 7, 300, 64},    {0, 4, 3, 8},  {7, 0, 3, 16}};
  for (const auto dtype : {torch::kFloat, torch::kDouble}) {
    if (target.device.is_cuda() && dtype == torch::kDouble) continue;
    for (const auto& c : cases) {
      const auto options = torch::dtype(dtype).device(target.device);
      auto rows = torch::randn({c.b, c.f}, options).requires_grad_();
      auto table = torch::randn({c.d, c.f}, options).requires_grad_();
      // Only the first half of the table is named, so the rest must get a zero gradient.
      const auto index = torch::randint(std::max<int64_t>(1, c.d / 2), {c.b, c.n},
                                        torch::dtype(torch::kLong).device(target.device));
      const auto out = indexed_dot(rows, table, index);
      const auto weights = torch::randn({c.b, c.n}, torch::kDouble);
      (out * weights.to(options)).sum().backward();

      auto r = rows.detach().cpu().to(torch::kDouble).requires_grad_();
      auto t = table.detach().cpu().to(torch::kDouble).requires_grad_();
      const auto gathered = t.index_select(0, index.cpu().reshape(-1)).view({c.b, c.n, c.f});
      const auto expected = (gathered * r.unsqueeze(1)).sum(2);
      (expected * weights).sum().backward();

      const double tolerance = dtype == torch::kFloat ? 1e-4 : 1e-12;
      const std::string what = std::to_string(c.b) + "x" + std::to_string(c.n) + " table " +
                               std::to_string(c.d) + "x" + std::to_string(c.f);
      ASSERT_EQ(out.sizes(), expected.sizes()) << what;
      auto near = [&](const at::Tensor& got, const at::Tensor& want) {
        return torch::allclose(got.detach().cpu().to(torch::kDouble), want, tolerance, tolerance);
      };
      EXPECT_TRUE(near(out, expected)) << what << " values";
      EXPECT_TRUE(near(rows.grad(), r.grad())) << what << " rows' gradient";
      EXPECT_TRUE(near(table.grad(), t.grad())) << what << " table's gradient";
    }
  }
}

// The table's gradient is summed per row in pair order: the same bits whatever the threads.
TEST_P(IndexedDotParity, TableGradientDoesNotDependOnTheThreadCount) {
  POLYPHONY_KERNEL_TARGET(target, GetParam());
  if (target.device.is_cuda()) GTEST_SKIP() << "LibTorch's batched product on CUDA";
  const auto rows = torch::randn({300, 81}).requires_grad_();
  const auto table = torch::randn({50, 81}).requires_grad_();
  const auto index = torch::randint(50, {300, 39});
  std::vector<at::Tensor> gradients;
  const int threads = at::get_num_threads();
  for (const int n : {1, 2, 3}) {
    at::set_num_threads(n);
    table.mutable_grad() = at::Tensor();
    indexed_dot(rows, table, index).sum().backward();
    gradients.push_back(table.grad().clone());
  }
  at::set_num_threads(threads);
  EXPECT_TRUE(torch::equal(gradients[0], gradients[1]));
  EXPECT_TRUE(torch::equal(gradients[0], gradients[2]));
}

TEST_P(IndexedDotParity, RefusesMismatchedInputs) {
  POLYPHONY_KERNEL_TARGET(target, GetParam());
  const auto options = torch::dtype(torch::kFloat).device(target.device);
  const auto rows = torch::randn({4, 6}, options), table = torch::randn({5, 6}, options);
  const auto index = torch::randint(5, {4, 3}, options.dtype(torch::kLong));
  EXPECT_THROW(indexed_dot(rows, torch::randn({5, 7}, options), index), c10::Error);
  EXPECT_THROW(indexed_dot(rows, table.to(torch::kDouble), index), c10::Error);
  EXPECT_THROW(indexed_dot(rows, table, index.narrow(0, 0, 3)), c10::Error);
  EXPECT_THROW(indexed_dot(rows, table, index.to(torch::kInt)), c10::Error);
  if (target.device.is_cpu()) {
    EXPECT_THROW(indexed_dot(rows, table, index + 5), c10::Error);
    EXPECT_THROW(indexed_dot(rows, table, index - 5), c10::Error);
  }
}

INSTANTIATE_TEST_SUITE_P(Targets, IndexedDotParity,
                         ::testing::ValuesIn(testing::kernel_test_targets()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace polyphony
