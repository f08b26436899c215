#pragma once
// The one interface through which the trainer, the evaluator and the exporter see a model.
// A model knows nothing of the trainer, the data files or the run directory.

#include <optional>
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <nlohmann/json.hpp>

#include "kernels/ranking_losses.h"

namespace polyphony {

// What a model may learn from its training data at construction (sizes, and the training
// interactions for models that are statistics of them: popularity, graph models, SVD).
struct ModelContext {
  int64_t num_users = 0;
  int64_t num_items = 0;
  at::Tensor train_users;  // int64 [n], CPU
  at::Tensor train_items;  // int64 [n], CPU
};

// One training batch: each positive pair with its sampled negatives.
struct Batch {
  at::Tensor users;  // int64 [B]
  at::Tensor items;  // int64 [B, 1 + n_neg]: each row's positive, then its sampled negatives
};

// A weighted regularisation term, reported under its own name in the training log.
struct RegularizationTerm {
  std::string name;
  at::Tensor value;  // scalar, already multiplied by its weight
};

// A batch's training objective: the ranking loss and the regularisation terms, each reported under
// its own name; the step minimises their sum.
struct TrainingLoss {
  at::Tensor ranking;
  std::vector<RegularizationTerm> terms;
};

// Scores as a product of factors: score(u, i) = users[u] · items[i]. Regularisers on the whole
// score matrix (ReSN) work on these, never on a materialised users × items matrix.
struct ScoreFactors {
  at::Tensor users;  // [B, F] for the requested users
  at::Tensor items;  // [num_items, F]
};

// Scores as the best of several user vectors: score(u, i) = max_m users[u, m] · items[i]. Every
// model whose scores are a product of factors has this form with M = 1; the multi-interest
// framework has one vector per interest besides the center. The exporter writes this form.
struct MaxProductFactors {
  at::Tensor users;  // [B, M, F] for the requested users
  at::Tensor items;  // [num_items, F]
};

class Recommender : public torch::nn::Module {
 public:
  // The registry name, e.g. "mf".
  virtual std::string kind() const = 0;
  // The options the model was built with; together with the ModelContext they rebuild it.
  virtual nlohmann::json config() const = 0;
  // False for models that have nothing to optimise (e.g. the popularity baseline).
  virtual bool trainable() const { return true; }

  // Scores of items for users: users [B], items [B, n] -> [B, n].
  virtual at::Tensor score(const at::Tensor& users, const at::Tensor& items) = 0;
  // Scores of every item for a chunk of users: users [B] -> [B, num_items], a new tensor the
  // caller may modify.
  virtual at::Tensor score_all_items(const at::Tensor& users) = 0;
  // The factors of the score matrix for `users`, differentiable, for models whose scores are a
  // product of factors (none by default).
  virtual std::optional<ScoreFactors> score_factors(const at::Tensor& /*users*/) {
    return std::nullopt;
  }
  // The factors of the score matrix whose spectrum the popularity diagnostics and ReSN look at,
  // differentiable: the score factors themselves where scores are their product.
  virtual std::optional<ScoreFactors> spectral_factors(const at::Tensor& users) {
    return score_factors(users);
  }
  // The factors of the scores as a maximum of products (see MaxProductFactors), for models whose
  // scores have that form: the score factors with M = 1 by default.
  virtual std::optional<MaxProductFactors> max_product_factors(const at::Tensor& users) {
    auto factors = score_factors(users);
    if (!factors) return std::nullopt;
    return MaxProductFactors{factors->users.unsqueeze(1), factors->items};
  }
  // The ranking loss `loss` of a batch's scores score(users, items): in LibTorch's operators by
  // default; models whose scores are inner products of table rows compute it in one kernel
  // (kernels/gathered_ranking_loss.h), with the same value and gradients.
  virtual at::Tensor ranking_loss(const Batch& batch, RankingLoss loss);
  // Why a training step of this model cannot be captured as a CUDA graph (empty: nothing known
  // stops it): a step that reads values on the host, makes tensors whose shapes depend on the
  // batch's values or keeps state a replay would not update cannot be replayed.
  virtual std::string graph_capture_obstacle() const { return ""; }
  // Whether its captured step has been shown to train as its eager steps do, on a GPU: only then
  // does --cuda-graph auto capture it (try captures it regardless).
  virtual bool graph_capture_shown() const { return false; }
  // Regularisation terms of a batch (none by default).
  virtual std::vector<RegularizationTerm> regularization(const Batch& /*batch*/) { return {}; }
  // A training step's objective of a batch: ranking_loss and regularization, by default each
  // computed on its own; a model whose terms share the batch's forward pass (ProtoMF's
  // similarities) computes it once and hands it to both.
  virtual TrainingLoss training_loss(const Batch& batch, RankingLoss loss) {
    return {ranking_loss(batch, loss), regularization(batch)};
  }

  // The parameters whose rows a batch reads by user or item id (embedding tables), registered
  // with register_embedding_table(). A step reads a few thousand of their millions of rows.
  virtual std::vector<at::Tensor> embedding_tables() const { return embedding_tables_; }
  // On: a lookup through embedding_rows() gives its table a row-sparse gradient (a sparse COO
  // tensor holding only the rows read), so an optimiser can update those rows alone; off
  // (default): a dense gradient over the whole table. Forward values are the same either way.
  virtual void set_row_sparse_gradients(bool on) { row_sparse_gradients_ = on; }

 protected:
  // Registers a parameter as an embedding table (see embedding_tables()).
  at::Tensor register_embedding_table(const std::string& name, const at::Tensor& initial);
  // Rows `ids` [n] of `table`: [n, d], through an embedding lookup with a sparse gradient when
  // row-sparse gradients are on and autograd records, through index_select otherwise.
  at::Tensor embedding_rows(const at::Tensor& table, const at::Tensor& ids) const;
  // Whether a lookup of `table` now gives it a row-sparse gradient (as embedding_rows decides).
  bool row_sparse_gradient_for(const at::Tensor& table) const;

 private:
  std::vector<at::Tensor> embedding_tables_;
  bool row_sparse_gradients_ = false;
};

}  // namespace polyphony
