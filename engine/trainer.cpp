#include "engine/trainer.h"

#include <torch/torch.h>

#include <chrono>
#include <limits>

#include "common/error.h"
#include "engine/losses.h"
#include "models/recommender.h"

namespace polyphony {
namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

void check_trainer_options(const TrainerOptions& o) {
  if (o.epochs < 1) fail("--epochs must be at least 1 (got {})", o.epochs);
  if (o.batch_size < 1) fail("--batch-size must be at least 1 (got {})", o.batch_size);
  if (o.negatives < 1) fail("--negatives must be at least 1 (got {})", o.negatives);
  if (!(o.lr > 0)) fail("--lr must be positive (got {})", o.lr);
  if (o.weight_decay < 0) fail("--weight-decay must be non-negative (got {})", o.weight_decay);
  if (o.eval_every < 0) fail("--eval-every must be non-negative (got {})", o.eval_every);
  if (o.patience < 0) fail("--patience must be non-negative (got {})", o.patience);
  if (!is_known_loss(o.loss))
    fail("--loss: unknown loss '{}' (available: bpr, softmax, bce)", o.loss);
}

Trainer::Trainer(Recommender& model, Interactions train, const NegativeSampler& sampler,
                 TrainerOptions options, Validate validate, OnEpoch on_epoch)
    : model_(model),
      train_(std::move(train)),
      sampler_(sampler),
      options_(std::move(options)),
      validate_(std::move(validate)),
      on_epoch_(std::move(on_epoch)) {
  check_trainer_options(options_);
  if (model_.trainable() && train_.size() == 0)
    fail("training: there are no training interactions");
}

EpochRecord Trainer::run_epoch(int64_t epoch, torch::optim::Optimizer& optimizer) const {
  const auto start = std::chrono::steady_clock::now();
  const int64_t n = train_.size();
  const auto long_opts = train_.users.options();
  auto order = torch::randperm(n, long_opts);
  // Loss sums stay on the device; they are read once at the end of the epoch.
  std::map<std::string, at::Tensor> sums;
  auto add = [&](const std::string& name, const at::Tensor& value) {
    auto detached = value.detach().to(at::kDouble);
    auto it = sums.find(name);
    if (it == sums.end()) {
      sums.emplace(name, detached);
    } else {
      it->second += detached;
    }
  };
  int64_t steps = 0;
  for (int64_t begin = 0; begin < n; begin += options_.batch_size, ++steps) {
    auto index = order.slice(0, begin, std::min(n, begin + options_.batch_size));
    Batch batch;
    batch.users = train_.users.index_select(0, index);
    batch.positives = train_.items.index_select(0, index);
    batch.negatives = sampler_.sample(batch.users, options_.negatives);
    // One scoring call for the positive and its negatives: [B, 1 + n_neg].
    auto scores =
        model_.score(batch.users, torch::cat({batch.positives.unsqueeze(1), batch.negatives}, 1));
    auto ranking = ranking_loss(options_.loss, scores.narrow(1, 0, 1),
                                scores.narrow(1, 1, options_.negatives));
    auto total = ranking;
    add("ranking", ranking);
    for (const auto& term : model_.regularization(batch)) {
      total = total + term.value;
      add(term.name, term.value);
    }
    add("loss", total);
    optimizer.zero_grad();
    total.backward();
    optimizer.step();
  }

  EpochRecord record;
  record.epoch = epoch;
  for (const auto& [name, sum] : sums) record.losses[name] = sum.item<double>() / steps;
  record.seconds = seconds_since(start);
  record.interactions_per_second = static_cast<double>(n) / std::max(record.seconds, 1e-9);
  return record;
}

TrainingSummary Trainer::fit() {
  const auto start = std::chrono::steady_clock::now();
  TrainingSummary summary;
  if (!model_.trainable()) {
    summary.seconds = seconds_since(start);
    return summary;
  }
  auto parameters = model_.parameters();
  torch::optim::Adam optimizer(
      parameters, torch::optim::AdamOptions(options_.lr).weight_decay(options_.weight_decay));
  std::vector<at::Tensor> best;
  summary.best_metric = -std::numeric_limits<double>::infinity();
  int64_t validations_since_best = 0;
  for (int64_t epoch = 1; epoch <= options_.epochs; ++epoch) {
    model_.train();
    EpochRecord record = run_epoch(epoch, optimizer);
    summary.epochs_run = epoch;
    const bool validate_now = validate_ && options_.eval_every > 0 &&
                              (epoch % options_.eval_every == 0 || epoch == options_.epochs);
    if (validate_now) {
      model_.eval();
      record.validation = validate_(model_);
      const double value = record.validation->metric(options_.monitor);
      if (value > summary.best_metric) {
        summary.best_metric = value;
        summary.best_epoch = epoch;
        validations_since_best = 0;
        torch::NoGradGuard no_grad;
        best.clear();
        for (const auto& p : parameters) best.push_back(p.detach().clone());
      } else {
        ++validations_since_best;
      }
    }
    if (on_epoch_) on_epoch_(record);
    if (options_.patience > 0 && validations_since_best >= options_.patience) {
      summary.stopped_early = true;
      break;
    }
  }
  if (!best.empty()) {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < parameters.size(); ++i) parameters[i].copy_(best[i]);
  }
  model_.eval();
  summary.seconds = seconds_since(start);
  return summary;
}

}  // namespace polyphony
