#include "engine/train/optimization.h"

#include <torch/optim.h>

#include <ATen/ops/_foreach_mul.h>
#include <ATen/ops/_foreach_norm.h>
#include <ATen/ops/stack.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "common/error.h"
#include "common/option_text.h"
#include "engine/train/fused_adam.h"

namespace polyphony {

const char* embedding_updates_name(EmbeddingUpdates updates) {
  switch (updates) {
    case EmbeddingUpdates::kDense:
      return "dense";
    case EmbeddingUpdates::kRowSparse:
      return "sparse";
    case EmbeddingUpdates::kAuto:
      break;
  }
  return "auto";
}

const std::vector<Option<OptimizerOptions>>& optimizer_option_list() {
  using O = OptionsOf<OptimizerOptions>;
  const Rule<double> below_one = [](const double& value) -> std::optional<std::string> {
    if (!(value >= 0 && value < 1)) return std::string("must lie in [0, 1)");
    return std::nullopt;
  };
  static const std::vector<Option<OptimizerOptions>> options = {
      O::choice("optimizer", &OptimizerOptions::name, "adam, adamw, adagrad or sgd",
                {{"adam", "adam"}, {"adamw", "adamw"}, {"adagrad", "adagrad"}, {"sgd", "sgd"}}),
      O::field("lr", &OptimizerOptions::lr, "learning rate", positive<double>()),
      O::field("weight_decay", &OptimizerOptions::weight_decay,
               "weight decay (decoupled for adamw)", non_negative<double>()),
      O::field("momentum", &OptimizerOptions::momentum, "SGD momentum", below_one),
      O::choice(
          "embedding_updates", &OptimizerOptions::embedding_updates,
          fmt::format("dense (every embedding row at every step), sparse (only the rows a "
                      "batch read: lazy Adam, row-wise Adagrad; for large catalogues) or "
                      "auto (sparse once the embedding tables hold {} rows in all, else "
                      "dense)",
                      kRowSparseFromRows),
          {{embedding_updates_name(EmbeddingUpdates::kAuto), EmbeddingUpdates::kAuto},
           {embedding_updates_name(EmbeddingUpdates::kDense), EmbeddingUpdates::kDense},
           {embedding_updates_name(EmbeddingUpdates::kRowSparse), EmbeddingUpdates::kRowSparse}}),
  };
  return options;
}

void check_optimizer_options(const OptimizerOptions& o) {
  check_options(optimizer_option_list(), o);
}

LearningRateSchedule parse_schedule(const std::string& text) {
  const OptionText option("lr_schedule", text,
                          "constant, cosine or step:EPOCHS:GAMMA (e.g. step:10:0.5, EPOCHS ≥ 1, "
                          "GAMMA > 0)");
  LearningRateSchedule s;
  if (text == "constant") return s;
  if (text == "cosine") {
    s.kind = ScheduleKind::kCosine;
    return s;
  }
  if (option.kind() != "step" || !option.has_argument()) option.reject();
  const auto fields = option.fields(option.argument(), ':', 2, 2);
  s.kind = ScheduleKind::kStep;
  s.step_epochs = option.integer(fields[0], 1, std::numeric_limits<int64_t>::max());
  s.gamma = option.real(fields[1], 0, std::numeric_limits<double>::infinity(), /*open_low=*/true);
  return s;
}

const std::vector<Option<LearningRateSchedule>>& schedule_option_list() {
  using O = OptionsOf<LearningRateSchedule>;
  // The schedule's text leaves the warm-up alone, so the two land in either order.
  Option<LearningRateSchedule> schedule{"lr_schedule", "constant, cosine or step:EPOCHS:GAMMA"};
  schedule.default_text = LearningRateSchedule{}.spec();
  schedule.set = [](LearningRateSchedule& s, const std::string& text) {
    const int64_t warmup = s.warmup_steps;
    s = parse_schedule(text);
    s.warmup_steps = warmup;
  };
  schedule.get = [](const LearningRateSchedule& s) -> std::optional<std::string> {
    return s.spec();
  };
  static const std::vector<Option<LearningRateSchedule>> options = {
      schedule,
      O::field("warmup_steps", &LearningRateSchedule::warmup_steps,
               "linear learning-rate warm-up over the first steps", non_negative<int64_t>()),
  };
  return options;
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
