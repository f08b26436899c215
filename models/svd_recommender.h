#pragma once
// Item-based recommendation from truncated-SVD PPMI item embeddings E = U_K S_K (Afchar et al.,
// RecSys 2023): a user is the mean of the rows E_i of their training items and
// score(u, i) = user_u · E_i, i.e. the user's mean similarity to i under E Eᵀ, the rank-K
// approximation of the squared PPMI matrix. Built from the training interactions; no gradient
// training.

#include <vector>

#include "analysis/truncated_svd.h"
#include "models/model_options.h"
#include "models/recommender.h"

namespace polyphony {

// The options of the svd model (models/model_options.h), declared once.
const std::vector<Option<TruncatedSvdOptions>>& svd_option_list();

class SvdRecommender : public Recommender {
 public:
  SvdRecommender(const ModelContext& context, const TruncatedSvdOptions& options);

  std::string kind() const override { return "svd"; }
  nlohmann::json config() const override;
  bool trainable() const override { return false; }
  at::Tensor score(const at::Tensor& users, const at::Tensor& items) override;
  at::Tensor score_all_items(const at::Tensor& users) override;
  std::optional<ScoreFactors> score_factors(const at::Tensor& users) override;

 private:
  TruncatedSvdOptions options_;
  at::Tensor user_vectors_;  // float [U, K]
  at::Tensor item_vectors_;  // float [I, K]: E (zero rows for items without PPMI entries)
};

}  // namespace polyphony
