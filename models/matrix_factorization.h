#pragma once
// Matrix factorisation: score(u, i) = e_u · e_i (models.md, "Matrix factorisation").

#include <vector>

#include "models/model_options.h"
#include "models/recommender.h"

namespace polyphony {

struct MatrixFactorizationOptions {
  /// Embedding size d.
  int64_t dim = 64;
  /// Standard deviation of the N(0, std²) initialisation.
  double init_std = 0.1;
};

// Its options (models/model_options.h), declared once.
const std::vector<Option<MatrixFactorizationOptions>>& matrix_factorization_option_list();
// Refuses values the model cannot be built with (needs no data, so commands check them first).
void check_options(const MatrixFactorizationOptions& options);

class MatrixFactorization : public Recommender {
 public:
  MatrixFactorization(const ModelContext& context, MatrixFactorizationOptions options);

  std::string kind() const override { return "mf"; }
  nlohmann::json config() const override;
  at::Tensor score(const at::Tensor& users, const at::Tensor& items) override;
  at::Tensor score_all_items(const at::Tensor& users) override;
  std::optional<ScoreFactors> score_factors(const at::Tensor& users) override;
  at::Tensor ranking_loss(const Batch& batch, RankingLoss loss) override;
  // Two kernels and the tables: nothing read on the host, no shape from the batch's values.
  bool graph_capture_shown() const override { return true; }

  const at::Tensor& user_embedding() const { return user_embedding_; }
  const at::Tensor& item_embedding() const { return item_embedding_; }

 private:
  MatrixFactorizationOptions options_;
  at::Tensor user_embedding_;  // [num_users, d]
  at::Tensor item_embedding_;  // [num_items, d]
};

}  // namespace polyphony
