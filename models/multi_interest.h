#pragma once
// The multi-interest framework (Zhao et al., WWW 2024, "Can One Embedding Fit All?";
// models.md "Multi-interest framework") on a LightGCN backbone. The paper's body was not
// available; this is Polyphony's formulation of the mechanism it describes:
//  - global interests W [K, d], shared by every layer and node;
//  - a node's interest assignment a_jk = softmax_k(c_j · w_k / τ);
//  - virtual interest k of node v: v_vk = Σ_{j∈N(v)} a_jk c_j / (Σ_{j∈N(v)} a_jk + ε);
//  - center aggregation: c_v^(l+1) = Σ_{j∈N(v)} Â_vj v_{j,k*}, k* = argmax_k c_v · v_jk (the
//    neighbour's interest that best matches v; ties: lowest k; no gradient through the choice);
//  - final center c_v = mean_{l=0..L} c_v^l; user interests from the last layer;
//  - score(u, i) = max(c_u · c_i, max_k v_uk · c_i).

#include <vector>

#include <utility>

#include "models/inference_cache.h"
#include "models/interaction_graph.h"
#include "models/model_options.h"
#include "models/recommender.h"

namespace polyphony {

struct MultiInterestOptions {
  /// Embedding size d.
  int64_t dim = 64;
  /// Propagation layers L (at least 1: the user interests come from the last one).
  int64_t layers = 3;
  /// Global interests K.
  int64_t interests = 4;
  /// Softmax temperature τ of the interest assignment.
  double temperature = 1.0;
  /// ε in the virtual interests' denominator.
  double epsilon = 1e-8;
  /// Standard deviation of the N(0, std²) initialisation of the embeddings and interests.
  double init_std = 0.1;
};

// Its options (models/model_options.h), declared once.
const std::vector<Option<MultiInterestOptions>>& multi_interest_option_list();
// Refuses values the model cannot be built with (needs no data, so commands check them first).
void check_options(const MultiInterestOptions& options);

class MultiInterest : public Recommender {
 public:
  MultiInterest(const ModelContext& context, MultiInterestOptions options);

  std::string kind() const override { return "multi-interest"; }
  nlohmann::json config() const override;
  at::Tensor score(const at::Tensor& users, const at::Tensor& items) override;
  at::Tensor score_all_items(const at::Tensor& users) override;
  // The scores are a maximum, not a product of factors; the popularity diagnostics and ReSN look
  // at the center part c_u · c_i.
  std::optional<ScoreFactors> spectral_factors(const at::Tensor& users) override;
  // The center c_u followed by the K interests v_uk of each user: [B, 1 + K, d].
  std::optional<MaxProductFactors> max_product_factors(const at::Tensor& users) override;

  struct Representations {
    at::Tensor centers;    // [U + I, d], the final centers (users first)
    at::Tensor interests;  // [U, K, d], the users' virtual interests of the last layer
  };
  Representations propagate();

  const at::Tensor& embedding() const { return embedding_; }
  const at::Tensor& global_interests() const { return global_interests_; }

 private:
  // One layer: the virtual interests of every node [N, K, d] and the next centers [N, d].
  std::pair<at::Tensor, at::Tensor> layer(const at::Tensor& centers);
  // k* of every edge (v, j), int64 [E], without gradient.
  at::Tensor matching_interests(const at::Tensor& centers, const at::Tensor& interests) const;

  MultiInterestOptions options_;
  InteractionGraph graph_;
  at::Tensor embedding_;         // c^(0), [U + I, d]
  at::Tensor global_interests_;  // W, [K, d]
  InferenceCache cache_;
};

}  // namespace polyphony
