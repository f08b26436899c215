#pragma once
// The one interface through which the trainer, the evaluator and the exporter see a model.
// A model knows nothing of the trainer, the data files or the run directory.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/nn/module.h>

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
  at::Tensor users;      // int64 [B]
  at::Tensor positives;  // int64 [B]
  at::Tensor negatives;  // int64 [B, n_neg]
};

// A weighted regularisation term, reported under its own name in the training log.
struct RegularizationTerm {
  std::string name;
  at::Tensor value;  // scalar, already multiplied by its weight
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
  // Scores of every item for a chunk of users: users [B] -> [B, num_items].
  virtual at::Tensor score_all_items(const at::Tensor& users) = 0;
  // Regularisation terms of a batch (none by default).
  virtual std::vector<RegularizationTerm> regularization(const Batch& /*batch*/) { return {}; }
};

}  // namespace polyphony
