#include "kernels/ranking_losses.h"

#include <ATen/ATen.h>

#include "common/error.h"

namespace polyphony {

std::optional<RankingLoss> parse_ranking_loss(const std::string& name) {
  if (name == "bpr") return RankingLoss::kBpr;
  if (name == "softmax") return RankingLoss::kSoftmax;
  if (name == "bce") return RankingLoss::kBce;
  if (name == "mse") return RankingLoss::kMse;
  return std::nullopt;
}

const char* ranking_loss_name(RankingLoss loss) {
  switch (loss) {
    case RankingLoss::kBpr:
      return "bpr";
    case RankingLoss::kSoftmax:
      return "softmax";
    case RankingLoss::kBce:
      return "bce";
    case RankingLoss::kMse:
      return "mse";
  }
  return "?";
}

bool is_known_loss(const std::string& name) { return parse_ranking_loss(name).has_value(); }

at::Tensor bpr_loss(const at::Tensor& positive, const at::Tensor& negatives) {
  return -at::log_sigmoid(positive - negatives).mean();
}

at::Tensor sampled_softmax_loss(const at::Tensor& positive, const at::Tensor& negatives) {
  return (at::logsumexp(at::cat({positive, negatives}, 1), 1) - positive.squeeze(1)).mean();
}

at::Tensor bce_loss(const at::Tensor& positive, const at::Tensor& negatives) {
  const double n = static_cast<double>(negatives.size(1));
  // softplus(x) = −log σ(−x), written with log σ because at::softplus is linear above 20, which
  // is off by e^-20 (visible in double precision) where log σ is exact.
  auto per_row = n * at::log_sigmoid(positive.squeeze(1)) + at::log_sigmoid(-negatives).sum(1);
  return (per_row / (-2.0 * n)).mean();
}

at::Tensor sigmoid_mse_loss(const at::Tensor& positive, const at::Tensor& negatives) {
  const auto per_row =
      (1 - at::sigmoid(positive.squeeze(1))).pow(2) + at::sigmoid(negatives).pow(2).sum(1);
  return per_row.mean();
}

int64_t loss_terms(RankingLoss loss, int64_t positives, int64_t negatives) {
  return loss == RankingLoss::kBpr ? positives * negatives : positives;
}

int64_t loss_terms(const std::string& name, int64_t positives, int64_t negatives) {
  return loss_terms(parse_ranking_loss(name).value_or(RankingLoss::kMse), positives, negatives);
}

at::Tensor ranking_loss(RankingLoss loss, const at::Tensor& scores) {
  const auto positive = scores.narrow(1, 0, 1), negatives = scores.narrow(1, 1, scores.size(1) - 1);
  switch (loss) {
    case RankingLoss::kBpr:
      return bpr_loss(positive, negatives);
    case RankingLoss::kSoftmax:
      return sampled_softmax_loss(positive, negatives);
    case RankingLoss::kBce:
      return bce_loss(positive, negatives);
    case RankingLoss::kMse:
      return sigmoid_mse_loss(positive, negatives);
  }
  fail("unknown ranking loss");
}

at::Tensor ranking_loss(const std::string& name, const at::Tensor& positive,
                        const at::Tensor& negatives) {
  const auto loss = parse_ranking_loss(name);
  if (!loss) fail("unknown loss '{}' (available: bpr, softmax, bce, mse)", name);
  return ranking_loss(*loss, at::cat({positive, negatives}, 1));
}

}  // namespace polyphony
