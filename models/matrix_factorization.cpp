#include "models/matrix_factorization.h"

#include <torch/torch.h>

#include "common/error.h"

namespace polyphony {

MatrixFactorization::MatrixFactorization(const ModelContext& context,
                                         MatrixFactorizationOptions options)
    : options_(options) {
  if (options_.dim < 1) fail("model option dim must be at least 1 (got {})", options_.dim);
  user_embedding_ = register_parameter(
      "user_embedding", torch::randn({context.num_users, options_.dim}) * options_.init_std);
  item_embedding_ = register_parameter(
      "item_embedding", torch::randn({context.num_items, options_.dim}) * options_.init_std);
}

nlohmann::json MatrixFactorization::config() const {
  return {{"dim", options_.dim}, {"init_std", options_.init_std}};
}

at::Tensor MatrixFactorization::score(const at::Tensor& users, const at::Tensor& items) {
  auto u = user_embedding_.index_select(0, users).unsqueeze(1);  // [B, 1, d]
  auto v = item_embedding_.index_select(0, items.reshape(-1))
               .view({items.size(0), items.size(1), -1});  // [B, n, d]
  return (u * v).sum(-1);
}

at::Tensor MatrixFactorization::score_all_items(const at::Tensor& users) {
  return torch::mm(user_embedding_.index_select(0, users), item_embedding_.t());
}

std::optional<ScoreFactors> MatrixFactorization::score_factors(const at::Tensor& users) {
  return ScoreFactors{user_embedding_.index_select(0, users), item_embedding_};
}

}  // namespace polyphony
