#include "models/matrix_factorization.h"

#include <torch/torch.h>

#include "common/error.h"
#include "kernels/gathered_ranking_loss.h"

namespace polyphony {

void check_options(const MatrixFactorizationOptions& o) {
  if (o.dim < 1) fail("model option dim must be at least 1 (got {})", o.dim);
  check_init_std(o.init_std);
}

MatrixFactorization::MatrixFactorization(const ModelContext& context,
                                         MatrixFactorizationOptions options)
    : options_(options) {
  check_options(options_);
  user_embedding_ = register_embedding_table(
      "user_embedding", torch::randn({context.num_users, options_.dim}) * options_.init_std);
  item_embedding_ = register_embedding_table(
      "item_embedding", torch::randn({context.num_items, options_.dim}) * options_.init_std);
}

const std::vector<Option<MatrixFactorizationOptions>>& matrix_factorization_option_list() {
  using O = OptionsOf<MatrixFactorizationOptions>;
  static const std::vector<Option<MatrixFactorizationOptions>> options = {
      with_flag(O::field("dim", &MatrixFactorizationOptions::dim, "embedding size d"), "dim"),
      O::field("init_std", &MatrixFactorizationOptions::init_std,
               "standard deviation of the N(0, std²) initialisation"),
  };
  return options;
}

nlohmann::json MatrixFactorization::config() const {
  return options_json(matrix_factorization_option_list(), options_);
}

at::Tensor MatrixFactorization::score(const at::Tensor& users, const at::Tensor& items) {
  auto u = embedding_rows(user_embedding_, users).unsqueeze(1);  // [B, 1, d]
  auto v = embedding_rows(item_embedding_, items.reshape(-1))
               .view({items.size(0), items.size(1), -1});  // [B, n, d]
  return (u * v).sum(-1);
}

at::Tensor MatrixFactorization::score_all_items(const at::Tensor& users) {
  return torch::mm(user_embedding_.index_select(0, users), item_embedding_.t());
}

std::optional<ScoreFactors> MatrixFactorization::score_factors(const at::Tensor& users) {
  return ScoreFactors{embedding_rows(user_embedding_, users), item_embedding_};
}

at::Tensor MatrixFactorization::ranking_loss(const Batch& batch, RankingLoss loss) {
  return gathered_ranking_loss(user_embedding_, item_embedding_, batch.users, batch.items, loss,
                               row_sparse_gradient_for(user_embedding_));
}

}  // namespace polyphony
