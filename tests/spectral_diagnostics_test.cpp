#include <gtest/gtest.h>
#include <torch/torch.h>

#include "analysis/spectral_diagnostics.h"

namespace polyphony {
namespace {

// Against the dense SVD of the materialised score matrix, on fresh random factors of several
// shapes (more users than factors and fewer).
TEST(SpectralDiagnostics, MatchTheDenseSvdOfTheScoreMatrix) {
  for (auto [users, items, dim] :
       {std::tuple{40, 60, 8}, std::tuple{5, 70, 12}, std::tuple{90, 30, 6}}) {
    auto u = torch::randn({users, dim});
    auto v = torch::randn({items, dim});
    // Popularity correlated with the first item factor, so the cosine is far from 0 and 1.
    auto popularity = (v.select(1, 0).abs() * 10 + torch::rand({items}) * 5).round();
    const auto d = spectral_diagnostics(u, v, popularity, 4);
    const auto y = u.to(torch::kDouble).mm(v.to(torch::kDouble).t());
    const auto svd = torch::linalg_svd(y, /*full_matrices=*/false);
    const auto s = std::get<1>(svd);
    ASSERT_EQ(d.singular_values.size(), 4u);
    for (int64_t k = 0; k < 4; ++k)
      EXPECT_NEAR(d.singular_values[k], s[k].item<double>(), 1e-4 * s[k].item<double>());
    const auto v1 = std::get<2>(svd)[0];
    const auto pop = popularity.to(torch::kDouble);
    const double cosine = std::abs(v1.dot(pop).item<double>()) / pop.norm().item<double>();
    EXPECT_NEAR(d.principal_popularity_cosine, cosine, 1e-4 * cosine);
    const double share = s[0].item<double>() / s.sum().item<double>();
    EXPECT_NEAR(d.first_singular_share, share, 1e-4 * share);
  }
}

TEST(SpectralDiagnostics, PopularityAlongThePrincipalDirectionGivesCosineOne) {
  // Y = u pᵀ for a popularity vector p: rank one, its right singular vector is p / ‖p‖.
  auto p = torch::rand({50}) * 100;
  auto u = torch::rand({20, 1}) + 0.5;
  const auto d = spectral_diagnostics(u, p.unsqueeze(1), p);
  EXPECT_NEAR(d.principal_popularity_cosine, 1.0, 1e-9);
  EXPECT_NEAR(d.first_singular_share, 1.0, 1e-12);
}

}  // namespace
}  // namespace polyphony
