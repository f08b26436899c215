#include "engine/train/losses.h"

#include <ATen/ATen.h>

#include "common/error.h"

namespace polyphony {

at::Tensor bpr_loss(const at::Tensor& positive, const at::Tensor& negatives) {
  return -at::log_sigmoid(positive - negatives).mean();
}

at::Tensor sampled_softmax_loss(const at::Tensor& positive, const at::Tensor& negatives) {
  return (at::logsumexp(at::cat({positive, negatives}, 1), 1) - positive.squeeze(1)).mean();
}

at::Tensor bce_loss(const at::Tensor& positive, const at::Tensor& negatives) {
  const double n = static_cast<double>(negatives.size(1));
  auto per_row = n * at::softplus(-positive.squeeze(1)) + at::softplus(negatives).sum(1);
  return (per_row / (2.0 * n)).mean();
}

int64_t loss_terms(const std::string& name, int64_t positives, int64_t negatives) {
  return name == "bpr" ? positives * negatives : positives;
}

at::Tensor sigmoid_mse_loss(const at::Tensor& positive, const at::Tensor& negatives) {
  const auto per_row =
      (1 - at::sigmoid(positive.squeeze(1))).pow(2) + at::sigmoid(negatives).pow(2).sum(1);
  return per_row.mean();
}

bool is_known_loss(const std::string& name) {
  return name == "bpr" || name == "softmax" || name == "bce" || name == "mse";
}

at::Tensor ranking_loss(const std::string& name, const at::Tensor& positive,
                        const at::Tensor& negatives) {
  if (name == "bpr") return bpr_loss(positive, negatives);
  if (name == "softmax") return sampled_softmax_loss(positive, negatives);
  if (name == "bce") return bce_loss(positive, negatives);
  if (name == "mse") return sigmoid_mse_loss(positive, negatives);
  fail("unknown loss '{}' (available: bpr, softmax, bce, mse)", name);
}

}  // namespace polyphony
