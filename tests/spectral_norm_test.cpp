// Batched spectral norm on every device against torch.linalg.svdvals in double, on fresh random
// inputs, degenerate ones included; the factorised path and its gradient against dense SVD.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "device_cases.h"
#include "kernels/spectral_norm.h"

namespace polyphony {
namespace {

at::Tensor reference_sigma(const at::Tensor& matrices) {
  return std::get<0>(torch::linalg_svdvals(matrices.cpu().to(torch::kDouble)).max(-1));
}

void expect_consistent(const SpectralNormResult& r, const at::Tensor& matrices, double tol,
                       const std::string& where) {
  auto sigma = r.sigma.cpu().to(torch::kDouble);
  auto expected = reference_sigma(matrices);
  auto rel = ((sigma - expected).abs() / expected.clamp_min(1e-30)).max().item<double>();
  EXPECT_LE(rel, tol) << where << ": σ " << sigma << " expected " << expected;
  // A v = σ u with unit u and v.
  auto a = matrices.cpu().to(torch::kDouble);
  auto u = r.left.cpu().to(torch::kDouble), v = r.right.cpu().to(torch::kDouble);
  EXPECT_TRUE(torch::allclose(u.norm(2, {1}), torch::ones({u.size(0)}, torch::kDouble), 1e-4, 1e-4))
      << where;
  EXPECT_TRUE(torch::allclose(v.norm(2, {1}), torch::ones({v.size(0)}, torch::kDouble), 1e-4, 1e-4))
      << where;
  auto av = torch::matmul(a, v.unsqueeze(-1)).squeeze(-1);
  EXPECT_TRUE(torch::allclose(av, sigma.unsqueeze(1) * u, 1e-3,
                              1e-3 * (expected.max().item<double>() + 1e-12)))
      << where;
}

class SpectralNormParity : public ::testing::TestWithParam<std::string> {};

TEST_P(SpectralNormParity, RandomMatricesMatchSvdvalsOnPoisonedOutputs) {
  POLYPHONY_KERNEL_TARGET(target, GetParam());
  const torch::Device device = target.device;
  SpectralNormOptions options;
  options.max_iterations = 3000;
  options.tolerance = 1e-5;
  for (auto [g, m, n] : {std::tuple{7, 33, 45}, std::tuple{3, 1, 17}, std::tuple{2, 65, 1},
                         std::tuple{40, 64, 64}, std::tuple{1, 300, 129}}) {
    // A clear spectral gap keeps power iteration's convergence within the cap.
    auto a = torch::randn({g, m, n});
    auto boost = torch::randn({g, m, 1}) * torch::randn({g, 1, n}) * 2.0;
    auto matrices = (a + boost).to(device);
    auto r = batched_spectral_norm(matrices, options);
    expect_consistent(
        r, matrices, 1e-4,
        "G=" + std::to_string(g) + " m=" + std::to_string(m) + " n=" + std::to_string(n));
  }
}

TEST_P(SpectralNormParity, DegenerateMatrices) {
  POLYPHONY_KERNEL_TARGET(target, GetParam());
  const torch::Device device = target.device;
  // Zero matrix: σ = 0 with unit vectors.
  auto zero = torch::zeros({2, 5, 7}).to(device);
  auto r = batched_spectral_norm(zero);
  EXPECT_TRUE(torch::equal(r.sigma.cpu(), torch::zeros({2})));
  EXPECT_TRUE(torch::allclose(r.left.norm(2, {1}).cpu(), torch::ones({2})));
  // Rank one: exact after one iteration.
  auto rank_one = (torch::randn({3, 9, 1}) * torch::randn({3, 1, 6})).to(device);
  expect_consistent(batched_spectral_norm(rank_one), rank_one, 1e-5, "rank one");
  // Repeated largest singular value: Q diag(3, 3, 1) Rᵀ.
  auto q = std::get<0>(torch::linalg_qr(torch::randn({4, 8, 3})));
  auto p = std::get<0>(torch::linalg_qr(torch::randn({4, 5, 3})));
  auto repeated =
      torch::matmul(q * torch::tensor({3.0f, 3.0f, 1.0f}), p.transpose(1, 2)).to(device);
  expect_consistent(batched_spectral_norm(repeated), repeated, 1e-5, "repeated σ₁");
}

TEST_P(SpectralNormParity, WarmStartFromTheAnswerConvergesAtOnce) {
  POLYPHONY_KERNEL_TARGET(target, GetParam());
  const torch::Device device = target.device;
  auto matrices =
      (torch::randn({5, 20, 30}) + torch::randn({5, 20, 1}) * torch::randn({5, 1, 30})).to(device);
  SpectralNormOptions options;
  options.max_iterations = 2000;
  auto cold = batched_spectral_norm(matrices, options);
  auto warm = batched_spectral_norm(matrices, options, cold.right);
  EXPECT_LE(warm.iterations.max().item<int>(), 3);
  EXPECT_TRUE(torch::allclose(warm.sigma, cold.sigma, 1e-5, 1e-6));
}

TEST_P(SpectralNormParity, FactorisedMatchesDenseSvdAndItsGradient) {
  POLYPHONY_KERNEL_TARGET(target, GetParam());
  const torch::Device device = target.device;
  const auto dtype = device.is_cuda() ? torch::kFloat : torch::kDouble;
  auto users = (torch::randn({90, 6}, dtype) + 1.0).to(device).requires_grad_(true);
  auto items = (torch::randn({70, 6}, dtype) + 0.5).to(device).requires_grad_(true);
  auto groups = torch::randint(3, {90}, torch::kLong).to(device);
  SpectralNormOptions options;
  options.max_iterations = 3000;
  options.tolerance = device.is_cuda() ? 1e-6 : 1e-12;
  SpectralWarmStart warm;
  auto sigma = factorized_spectral_norm(users, items, groups, 3, &warm, options);
  auto weights = torch::randn({3}, dtype).to(device);
  (sigma * weights).sum().backward();

  // Dense reference in double: σ₁ of each U_g Vᵀ through torch's SVD, and its autograd.
  auto ud = users.detach().cpu().to(torch::kDouble).requires_grad_(true);
  auto vd = items.detach().cpu().to(torch::kDouble).requires_grad_(true);
  std::vector<at::Tensor> expected;
  for (int64_t g = 0; g < 3; ++g) {
    auto rows = (groups.cpu() == g).nonzero().squeeze(1);
    expected.push_back(
        std::get<0>(torch::linalg_svdvals(ud.index_select(0, rows).mm(vd.t())).max(0)));
  }
  auto expected_sigma = torch::stack(expected);
  (expected_sigma * weights.cpu().to(torch::kDouble)).sum().backward();
  const double tol = device.is_cuda() ? 1e-4 : 1e-9;
  EXPECT_TRUE(
      torch::allclose(sigma.detach().cpu().to(torch::kDouble), expected_sigma.detach(), tol, 0))
      << sigma << expected_sigma;
  EXPECT_TRUE(
      torch::allclose(users.grad().cpu().to(torch::kDouble), ud.grad(), 10 * tol, 10 * tol));
  EXPECT_TRUE(
      torch::allclose(items.grad().cpu().to(torch::kDouble), vd.grad(), 10 * tol, 10 * tol));
  EXPECT_EQ(warm.right.sizes(), (std::vector<int64_t>{3, 6}));
}

TEST_P(SpectralNormParity, InvalidArgumentsAreClearErrors) {
  POLYPHONY_KERNEL_TARGET(target, GetParam());
  const torch::Device device = target.device;
  EXPECT_THROW(batched_spectral_norm(torch::randn({4, 4}).to(device)), c10::Error);
  EXPECT_THROW(batched_spectral_norm(torch::randn({2, 4, 4}).to(device), {},
                                     torch::randn({2, 3}).to(device)),
               c10::Error);
  EXPECT_THROW(factorized_spectral_norm(torch::randn({5, 3}).to(device),
                                        torch::randn({5, 4}).to(device), {}, 1),
               c10::Error);
  EXPECT_THROW(
      factorized_spectral_norm(torch::randn({5, 3}).to(device), torch::randn({5, 3}).to(device),
                               torch::full({5}, 2, torch::kLong).to(device), 2),
      c10::Error);
}

INSTANTIATE_TEST_SUITE_P(Devices, SpectralNormParity,
                         ::testing::ValuesIn(testing::kernel_test_targets()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace polyphony
