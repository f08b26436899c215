#pragma once
// LightGCN (He et al., SIGIR 2020; models.md "LightGCN"): embeddings propagated over the
// normalised user–item graph, E^(l+1) = Â E^(l), averaged over layers 0..L; score = e_u · e_i.

#include <vector>

#include "models/inference_cache.h"
#include "models/interaction_graph.h"
#include "models/model_options.h"
#include "models/recommender.h"

namespace polyphony {

struct LightGcnOptions {
  /// Embedding size d.
  int64_t dim = 64;
  /// Propagation layers L (0 is plain MF).
  int64_t layers = 3;
  /// Standard deviation of the N(0, std²) initialisation of E^(0) (the official code: 0.1).
  double init_std = 0.1;
  /// Weight of the official code's L2 term on the batch's layer-0 embeddings (its --decay,
  /// 1e-4 in the paper): decay · ½ (‖e_u⁰‖² + ‖e_i⁰‖² + Σ_j ‖e_j⁰‖²) / B. 0: off.
  double decay = 0;
};

// Its options (models/model_options.h), declared once.
const std::vector<Option<LightGcnOptions>>& lightgcn_option_list();
// Refuses values the model cannot be built with (needs no data, so commands check them first).
void check_options(const LightGcnOptions& options);

class LightGcn : public Recommender {
 public:
  LightGcn(const ModelContext& context, LightGcnOptions options);

  std::string kind() const override { return "lightgcn"; }
  nlohmann::json config() const override;
  at::Tensor score(const at::Tensor& users, const at::Tensor& items) override;
  at::Tensor score_all_items(const at::Tensor& users) override;
  std::optional<ScoreFactors> score_factors(const at::Tensor& users) override;
  at::Tensor ranking_loss(const Batch& batch, RankingLoss loss) override;
  std::vector<RegularizationTerm> regularization(const Batch& batch) override;

  // The final embeddings of all nodes, [U + I, d] (users first).
  at::Tensor propagate();
  const at::Tensor& embedding() const { return embedding_; }

 private:
  LightGcnOptions options_;
  InteractionGraph graph_;
  at::Tensor embedding_;  // E^(0), [U + I, d]
  InferenceCache cache_;  // the propagated embeddings, outside autograd
};

}  // namespace polyphony
