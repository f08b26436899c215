#pragma once
// The ReSN spectral-norm regulariser (Lin et al., WSDM 2025; models.md "ReSN"): popularity is
// memorised in the principal singular direction of the score matrix Y = U Vᵀ, so penalise its
// singular value. It wraps any model with spectral factors (MF, ProtoMF, LightGCN, multi-interest,
// ...) and adds one term, "resn", to the wrapped model's own regularisers.

#include <vector>

#include <memory>
#include <string>

#include "kernels/spectral_norm.h"
#include "models/model_options.h"
#include "models/recommender.h"

namespace polyphony {

enum class ResnForm {
  kPower,  // β σ₁(Y_B)², batch users against all items, warm-started power iteration (default)
  kOfficial,  // the official code: β ‖sigmoid(Y_B) q‖², q = stopgrad(r / ‖r‖), r = column sums
  kRatio,  // β ‖Y Yᵀ e‖² / ‖Yᵀ e‖² on raw scores, e = ones
};

struct ResnOptions {
  /// β, the weight of the term, which Polyphony divides by the number of batch users.
  double weight = 0.01;
  ResnForm form = ResnForm::kPower;
  /// Regularise each distinct user of the batch once (the official code's `uniusers`), not the
  /// user of every positive (a user with many positives in the batch then counts many times).
  bool unique_users = false;
  /// Divide β by the number of users regularised (Polyphony's default, so that β does not move
  /// with the batch size); false: the official code's plain β · term.
  bool per_user = true;
  /// Items per chunk when the official form materialises sigmoid(Y_B).
  int64_t item_chunk = 65536;
};

// Its options (models/model_options.h), declared once.
const std::vector<Option<ResnOptions>>& resn_option_list();
// Refuses values the term cannot be computed with (needs no data, so commands check them first).
void check_options(const ResnOptions& options);

// The ReSN term of the given factors, multiplied by β / B (B = batch users). `warm` keeps the power
// iteration's vector between calls (power form only).
at::Tensor resn_term(const ScoreFactors& factors, const ResnOptions& options,
                     SpectralWarmStart* warm);

class WithResn : public Recommender {
 public:
  WithResn(std::shared_ptr<Recommender> model, ResnOptions options);

  std::string kind() const override { return model_->kind(); }
  nlohmann::json config() const override;
  bool trainable() const override { return model_->trainable(); }
  at::Tensor score(const at::Tensor& users, const at::Tensor& items) override {
    return model_->score(users, items);
  }
  at::Tensor score_all_items(const at::Tensor& users) override {
    return model_->score_all_items(users);
  }
  std::optional<ScoreFactors> score_factors(const at::Tensor& users) override {
    return model_->score_factors(users);
  }
  std::optional<ScoreFactors> spectral_factors(const at::Tensor& users) override {
    return model_->spectral_factors(users);
  }
  std::optional<MaxProductFactors> max_product_factors(const at::Tensor& users) override {
    return model_->max_product_factors(users);
  }
  at::Tensor ranking_loss(const Batch& batch, RankingLoss loss) override {
    return model_->ranking_loss(batch, loss);
  }
  std::vector<RegularizationTerm> regularization(const Batch& batch) override;
  TrainingLoss training_loss(const Batch& batch, RankingLoss loss) override;
  std::string graph_capture_obstacle() const override;
  std::vector<at::Tensor> embedding_tables() const override { return model_->embedding_tables(); }
  void set_row_sparse_gradients(bool on) override { model_->set_row_sparse_gradients(on); }

 private:
  // The ReSN term of a batch's users (its power iteration warm-started from the last).
  RegularizationTerm resn(const Batch& batch);

  std::shared_ptr<Recommender> model_;
  ResnOptions options_;
  at::Tensor warm_start_;  // [1, F], the power iteration's last right singular vector
};

}  // namespace polyphony
