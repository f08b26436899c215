#include <gtest/gtest.h>
#include <torch/torch.h>

#include "common/error.h"
#include "kernels/ranking_losses.h"

namespace polyphony {
namespace {

// Literal formulas of models.md, element by element, in double precision.
double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

TEST(Losses, MatchTheirFormulas) {
  const int64_t b = 7, n = 5;
  auto pos = torch::randn({b, 1}, torch::kDouble) * 3;
  auto neg = torch::randn({b, n}, torch::kDouble) * 3;
  double bpr = 0, softmax = 0, bce = 0, mse = 0;
  for (int64_t r = 0; r < b; ++r) {
    const double p = pos[r][0].item<double>();
    double sum_exp = std::exp(p), neg_bce = 0;
    for (int64_t j = 0; j < n; ++j) {
      const double q = neg[r][j].item<double>();
      bpr += -std::log(sigmoid(p - q));
      sum_exp += std::exp(q);
      neg_bce += -std::log(1 - sigmoid(q));
      mse += sigmoid(q) * sigmoid(q);
    }
    mse += (1 - sigmoid(p)) * (1 - sigmoid(p));
    softmax += -p + std::log(sum_exp);
    bce += (n * -std::log(sigmoid(p)) + neg_bce) / (2.0 * n);
  }
  EXPECT_NEAR(bpr_loss(pos, neg).item<double>(), bpr / (b * n), 1e-12);
  EXPECT_NEAR(sampled_softmax_loss(pos, neg).item<double>(), softmax / b, 1e-12);
  EXPECT_NEAR(bce_loss(pos, neg).item<double>(), bce / b, 1e-12);
  EXPECT_NEAR(sigmoid_mse_loss(pos, neg).item<double>(), mse / b, 1e-12);
  EXPECT_NEAR(ranking_loss("mse", pos, neg).item<double>(), mse / b, 1e-12);
  EXPECT_THROW(ranking_loss("hinge", pos, neg), Error);
  // The sums (loss_reduction = sum) are the means times their terms.
  EXPECT_NEAR(bpr_loss(pos, neg).item<double>() * loss_terms("bpr", b, n), bpr, 1e-10);
  EXPECT_NEAR(sampled_softmax_loss(pos, neg).item<double>() * loss_terms("softmax", b, n), softmax,
              1e-10);
  EXPECT_NEAR(bce_loss(pos, neg).item<double>() * loss_terms("bce", b, n), bce, 1e-10);
  EXPECT_NEAR(sigmoid_mse_loss(pos, neg).item<double>() * loss_terms("mse", b, n), mse, 1e-10);
}

}  // namespace
}  // namespace polyphony
