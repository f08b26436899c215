#pragma once
// ProtoMF (Melchiorre et al., RecSys 2022; models.md "ProtoMF"): users and/or items are
// represented by their shifted cosine similarities to learnt prototypes, optionally filtered to
// the top k (Moradi et al., arXiv 2405.17607), with the max-regularisers of the paper and the
// prototype-distributing regulariser.

#include <string>
#include <vector>

#include <torch/nn/modules/linear.h>

#include "kernels/prototype_regularizers.h"
#include "models/distinct_ids.h"
#include "models/model_options.h"
#include "models/recommender.h"

namespace polyphony {

enum class PrototypeSides { kUser, kItem, kBoth };

struct ProtoMFOptions {
  /// Which side has prototypes: U-, I- or UI-ProtoMF.
  PrototypeSides sides = PrototypeSides::kBoth;
  /// Embedding size d of the entities that are compared with prototypes.
  int64_t dim = 64;
  /// Number of user prototypes L_u.
  int64_t user_prototypes = 64;
  /// Number of item prototypes L_t.
  int64_t item_prototypes = 64;
  /// Top-k filter on user similarities (-1: off).
  int64_t k_user = -1;
  /// Top-k filter on item similarities (-1: off).
  int64_t k_item = -1;
  /// User-side weights of R_{P→U} and R_{U→P} (reference: 0.086, 0.050).
  double user_proto_weight = 0.086;
  double user_batch_weight = 0.050;
  /// Item-side weights of R_{P→T} and R_{T→P} (reference: 1.80, 0.105).
  double item_proto_weight = 1.80;
  double item_batch_weight = 0.105;
  /// Weight of the prototype-distributing regulariser on each prototype side (0: off).
  double ortho_weight = 0.0;
  /// Its weight on one side instead (Moradi et al., arXiv 2405.17607, search each side's weight
  /// on its own); unset: ortho_weight.
  std::optional<double> ortho_user_weight, ortho_item_weight;
  double user_ortho() const { return ortho_user_weight.value_or(ortho_weight); }
  double item_ortho() const { return ortho_item_weight.value_or(ortho_weight); }
  OrthoForm ortho_form = OrthoForm::kDefault;
};

// Its options (models/model_options.h), declared once; `sides` comes from the model's name.
const std::vector<Option<ProtoMFOptions>>& protomf_option_list();
// Refuses values the model cannot be built with (needs no data, so commands check them first).
void check_options(const ProtoMFOptions& options);
// --k-filter KU[,KT]: k_user and k_item at once (-1: off).
const std::vector<ModelShortcut>& protomf_shortcuts();

class ProtoMF : public Recommender {
 public:
  ProtoMF(const ModelContext& context, ProtoMFOptions options);

  std::string kind() const override;
  nlohmann::json config() const override;
  at::Tensor score(const at::Tensor& users, const at::Tensor& items) override;
  at::Tensor score_all_items(const at::Tensor& users) override;
  // The sides once per distinct user and item of the batch, the loss over their factors in one
  // kernel (kernels/gathered_ranking_loss.h).
  at::Tensor ranking_loss(const Batch& batch, RankingLoss loss) override;
  std::vector<RegularizationTerm> regularization(const Batch& batch) override;
  // Both from the one pass over the batch's sides.
  TrainingLoss training_loss(const Batch& batch, RankingLoss loss) override;
  std::optional<ScoreFactors> score_factors(const at::Tensor& users) override;

  bool has_user_prototypes() const { return options_.sides != PrototypeSides::kItem; }
  bool has_item_prototypes() const { return options_.sides != PrototypeSides::kUser; }

 private:
  // Per-entity representations: the left factor of the user and the right factor of the item,
  // so that score = user_factor · item_factor ([u*, û] · [t̂, t*] for UI-ProtoMF).
  struct Side {
    at::Tensor factor;        // [n, F]
    at::Tensor similarities;  // [n, L] (undefined without prototypes on this side)
  };
  Side user_side(const at::Tensor& users);
  Side item_side(const at::Tensor& items);
  // A batch's sides, each computed once per distinct id (models/distinct_ids.h).
  struct BatchSides {
    DistinctIds users, items;
    Side user, item;
  };
  BatchSides sides_of(const Batch& batch);
  at::Tensor ranking_loss_of(const BatchSides& sides, const Batch& batch, RankingLoss loss) const;
  // The regularisers of those sides (their similarities with each distinct id's slot count).
  std::vector<RegularizationTerm> regularization_of(const BatchSides& sides) const;

  ProtoMFOptions options_;
  at::Tensor user_embedding_, item_embedding_;
  at::Tensor user_prototypes_, item_prototypes_;
  torch::nn::Linear user_projection_{nullptr}, item_projection_{nullptr};
};

}  // namespace polyphony
