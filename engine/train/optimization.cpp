#include "engine/train/optimization.h"

#include <torch/optim.h>

#include <ATen/ops/_foreach_mul.h>
#include <ATen/ops/_foreach_norm.h>
#include <ATen/ops/stack.h>

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "common/error.h"
#include "engine/train/fused_adam.h"

namespace polyphony {

void check_optimizer_options(const OptimizerOptions& o) {
  if (o.name != "adam" && o.name != "adamw" && o.name != "adagrad" && o.name != "sgd")
    fail("`optimizer`: unknown optimiser '{}' (available: adam, adamw, adagrad, sgd)", o.name);
  if (!(o.lr > 0)) fail("`lr` must be positive (got {})", o.lr);
  if (o.weight_decay < 0) fail("`weight_decay` must be non-negative (got {})", o.weight_decay);
  if (o.momentum < 0 || o.momentum >= 1) fail("`momentum` must lie in [0, 1) (got {})", o.momentum);
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const std::vector<at::Tensor>& parameters,
                                                        const OptimizerOptions& o) {
  check_optimizer_options(o);
  namespace optim = torch::optim;
  if (o.name == "adam")
    return std::make_unique<FusedAdam>(parameters,
                                       optim::AdamOptions(o.lr).weight_decay(o.weight_decay));
  if (o.name == "adamw")
    return std::make_unique<FusedAdamW>(parameters,
                                        optim::AdamWOptions(o.lr).weight_decay(o.weight_decay));
  if (o.name == "adagrad")
    return std::make_unique<optim::Adagrad>(
        parameters, optim::AdagradOptions(o.lr).weight_decay(o.weight_decay));
  if (o.name == "sgd")
    return std::make_unique<optim::SGD>(
        parameters, optim::SGDOptions(o.lr).momentum(o.momentum).weight_decay(o.weight_decay));
  fail("`optimizer`: unknown optimiser '{}'", o.name);  // unreachable after the check
}

std::string LearningRateSchedule::spec() const {
  switch (kind) {
    case ScheduleKind::kConstant:
      return "constant";
    case ScheduleKind::kStep:
      return fmt::format("step:{}:{}", step_epochs, gamma);
    case ScheduleKind::kCosine:
      return "cosine";
  }
  return "?";
}

double LearningRateSchedule::factor(int64_t step, int64_t steps_per_epoch,
                                    int64_t total_steps) const {
  double f = 1.0;
  if (warmup_steps > 0 && step < warmup_steps)
    f = static_cast<double>(step + 1) / static_cast<double>(warmup_steps);
  switch (kind) {
    case ScheduleKind::kConstant:
      break;
    case ScheduleKind::kStep:
      f *= std::pow(
          gamma, static_cast<double>(step / std::max<int64_t>(steps_per_epoch, 1) / step_epochs));
      break;
    case ScheduleKind::kCosine: {
      // Cosine annealing to zero over the steps after the warm-up (Loshchilov & Hutter 2017).
      const int64_t span = std::max<int64_t>(total_steps - warmup_steps, 1);
      const double t = static_cast<double>(std::clamp<int64_t>(step - warmup_steps, 0, span));
      f *= 0.5 * (1.0 + std::cos(std::acos(-1.0) * t / static_cast<double>(span)));
      break;
    }
  }
  return f;
}

void set_learning_rate(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
}

at::Tensor clip_gradient_norm(const std::vector<at::Tensor>& parameters, double max_norm) {
  std::vector<at::Tensor> grads;
  for (const auto& p : parameters) {
    const auto& g = p.grad();
    if (!g.defined()) continue;
    // A row-sparse gradient's norm is its values' once repeated rows are summed.
    TORCH_CHECK(!g.is_sparse() || g.is_coalesced(), "clip_gradient_norm: uncoalesced gradient");
    grads.push_back(g.is_sparse() ? g._values() : g);
  }
  if (grads.empty()) return {};
  auto total = at::stack(at::_foreach_norm(grads, 2.0)).norm();
  // The same 1e-6 guard as PyTorch's clip_grad_norm_; a factor ≥ 1 leaves gradients alone.
  auto scale = (max_norm / (total + 1e-6)).clamp_max(1.0);
  at::_foreach_mul_(grads, scale);
  return total;
}

EmbeddingUpdates resolve_embedding_updates(EmbeddingUpdates requested,
                                           const std::vector<at::Tensor>& tables) {
  if (requested != EmbeddingUpdates::kAuto) return requested;
  return !tables.empty() && embedding_rows(tables) >= kRowSparseFromRows
             ? EmbeddingUpdates::kRowSparse
             : EmbeddingUpdates::kDense;
}

int64_t embedding_rows(const std::vector<at::Tensor>& tables) {
  int64_t rows = 0;
  for (const auto& table : tables) rows += table.size(0);
  return rows;
}

}  // namespace polyphony
