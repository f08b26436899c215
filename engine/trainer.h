#pragma once
// The training loop. It sees a model only through the Recommender interface and validation only
// through a callback, so it never knows which model it trains or how it is evaluated.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include <ATen/core/Tensor.h>

#include "engine/dataset.h"
#include "engine/evaluator.h"
#include "engine/negative_sampler.h"

namespace torch::optim {
class Optimizer;
}

namespace polyphony {

class Recommender;

struct TrainerOptions {
  /// Passes over the training interactions.
  int64_t epochs = 30;
  /// Positive interactions per step.
  int64_t batch_size = 4096;
  /// Negatives sampled per positive.
  int64_t negatives = 1;
  /// Ranking loss: bpr, softmax or bce.
  std::string loss = "bpr";
  /// Adam learning rate.
  double lr = 5e-3;
  /// Adam weight decay, on all parameters.
  double weight_decay = 0.0;
  /// Validate every this many epochs (0: never).
  int64_t eval_every = 5;
  /// Metric that selects the best epoch and drives early stopping.
  std::string monitor = "NDCG@10";
  /// Stop after this many validations without improvement (0: never stop early).
  int64_t patience = 0;
};

struct EpochRecord {
  int64_t epoch = 0;
  std::map<std::string, double> losses;  // "loss" (total), "ranking", and each regulariser
  double seconds = 0;
  double interactions_per_second = 0;
  std::optional<EvaluationResult> validation;
};

struct TrainingSummary {
  int64_t epochs_run = 0;
  int64_t best_epoch = 0;  // 0 when no validation ran
  double best_metric = 0;
  bool stopped_early = false;
  double seconds = 0;
};

// Checks the options; a bad value is an error naming the command-line option.
void check_trainer_options(const TrainerOptions& options);

class Trainer {
 public:
  using Validate = std::function<EvaluationResult(Recommender&)>;
  using OnEpoch = std::function<void(const EpochRecord&)>;

  // `train` lives on the training device; `validate` may be empty (no validation).
  Trainer(Recommender& model, Interactions train, const NegativeSampler& sampler,
          TrainerOptions options, Validate validate = {}, OnEpoch on_epoch = {});

  // Trains, and with validation leaves the best epoch's parameters in the model.
  TrainingSummary fit();

 private:
  EpochRecord run_epoch(int64_t epoch, torch::optim::Optimizer& optimizer) const;

  Recommender& model_;
  Interactions train_;
  const NegativeSampler& sampler_;
  TrainerOptions options_;
  Validate validate_;
  OnEpoch on_epoch_;
};

}  // namespace polyphony
