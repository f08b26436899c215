#pragma once
// Anchor-based collaborative filtering, ACF (Barkan et al., CIKM 2021), the baseline of the
// ProtoMF paper, as its official code has it (models.md "ACF baseline"): users and items are
// convex combinations of shared anchors A [K, d], c_o = softmax(e_o Aᵀ), ẽ_o = c_o A;
// score = ẽ_u · ẽ_t. On the batch's items (negatives included) two terms shape the mixtures:
// exclusiveness Σ_t H(c_t) (added with weight δ_exc: each item near one anchor) and
// inclusiveness H(q), q = Σ_t c_t / Σ_{t,k} c_tk (subtracted with weight δ_inc: anchors shared).

#include <vector>

#include "models/model_options.h"
#include "models/recommender.h"

namespace polyphony {

struct AcfOptions {
  /// Embedding size d.
  int64_t dim = 64;
  /// Number of anchors K.
  int64_t anchors = 32;
  /// δ_exc and δ_inc (the official code's defaults: 0, off).
  double exclusiveness_weight = 0.0;
  double inclusiveness_weight = 0.0;
  /// Standard deviation of the N(0, std²) initialisation of embeddings and anchors (official: 1).
  double init_std = 1.0;
};

// Its options (models/model_options.h), declared once.
const std::vector<Option<AcfOptions>>& acf_option_list();
// Refuses values the model cannot be built with (needs no data, so commands check them first).
void check_options(const AcfOptions& options);

class Acf : public Recommender {
 public:
  Acf(const ModelContext& context, AcfOptions options);

  std::string kind() const override { return "acf"; }
  nlohmann::json config() const override;
  at::Tensor score(const at::Tensor& users, const at::Tensor& items) override;
  at::Tensor score_all_items(const at::Tensor& users) override;
  std::optional<ScoreFactors> score_factors(const at::Tensor& users) override;
  std::vector<RegularizationTerm> regularization(const Batch& batch) override;

  // The anchor mixture c_o = softmax(e_o Aᵀ) of rows `ids` of `embedding`, [n, K].
  at::Tensor mixture(const at::Tensor& embedding, const at::Tensor& ids) const;
  const at::Tensor& user_embedding() const { return user_embedding_; }
  const at::Tensor& item_embedding() const { return item_embedding_; }
  const at::Tensor& anchors() const { return anchors_; }

 private:
  // ẽ_o = c_o A of rows `ids` of `embedding`, [n, d], computed once per distinct id.
  at::Tensor represented(const at::Tensor& embedding, const at::Tensor& ids) const;

  AcfOptions options_;
  at::Tensor user_embedding_, item_embedding_;  // [U, d], [I, d]
  at::Tensor anchors_;                          // [K, d]
};

}  // namespace polyphony
