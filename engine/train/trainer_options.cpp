#include "engine/train/trainer_options.h"

#include "common/error.h"

namespace polyphony {
namespace {

// Each ranking loss by its name (kernels/ranking_losses.h).
std::vector<std::pair<std::string, std::string>> loss_names() {
  std::vector<std::pair<std::string, std::string>> names;
  for (const RankingLoss loss :
       {RankingLoss::kBpr, RankingLoss::kSoftmax, RankingLoss::kBce, RankingLoss::kMse})
    names.emplace_back(ranking_loss_name(loss), ranking_loss_name(loss));
  return names;
}

}  // namespace

const std::vector<Option<TrainerOptions>>& trainer_option_list() {
  using O = OptionsOf<TrainerOptions>;
  static const std::vector<Option<TrainerOptions>> options = [] {
    std::vector<Option<TrainerOptions>> out = {
        O::field("epochs", &TrainerOptions::epochs, "passes over the training data",
                 at_least<int64_t>(1)),
        O::field("batch_size", &TrainerOptions::batch_size, "positives per step",
                 at_least<int64_t>(1)),
        O::field("negatives", &TrainerOptions::negatives, "negatives per positive",
                 at_least<int64_t>(1)),
        O::choice("loss", &TrainerOptions::loss, "bpr, softmax, bce or mse", loss_names()),
        O::choice("loss_reduction", &TrainerOptions::loss_reduction,
                  "mean or sum of the loss over a batch (sum: as ACF's official code)",
                  {{"mean", LossReduction::kMean}, {"sum", LossReduction::kSum}}),
    };
    const auto add = [&out](const auto& more) { out.insert(out.end(), more.begin(), more.end()); };
    add(mount<TrainerOptions>(optimizer_option_list(), &TrainerOptions::optimizer));
    add(mount<TrainerOptions>(schedule_option_list(), &TrainerOptions::schedule));
    add(std::vector<Option<TrainerOptions>>{
        O::field("clip_grad_norm", &TrainerOptions::clip_grad_norm,
                 "clip the global gradient norm to this (0: off)", non_negative<double>()),
        O::field("eval_every", &TrainerOptions::eval_every, "validate every N epochs (0: never)",
                 non_negative<int64_t>()),
        O::field("monitor", &TrainerOptions::monitor,
                 "validation metric that picks the best epoch"),
        O::field("patience", &TrainerOptions::patience,
                 "stop after N validations without improvement (0: off)", non_negative<int64_t>()),
        O::field(
            "checkpoint_every_epochs", [](auto& o) -> auto& { return o.checkpoints.every_epochs; },
            "checkpoint every N epochs (0: only at the end and on signals)",
            non_negative<int64_t>()),
        O::field(
            "checkpoint_every_steps", [](auto& o) -> auto& { return o.checkpoints.every_steps; },
            "also checkpoint every N optimiser steps (0: off)", non_negative<int64_t>()),
        O::field(
            "keep_checkpoints", [](auto& o) -> auto& { return o.checkpoints.keep_last; },
            "step checkpoints kept (best.ckpt is kept besides)", at_least<int64_t>(1)),
        O::choice("on_nonfinite", &TrainerOptions::on_nonfinite,
                  "on a non-finite loss: stop, or rollback (reload the last checkpoint, halve the "
                  "learning rate, up to 3 times)",
                  {{"stop", NonFinitePolicy::kStop}, {"rollback", NonFinitePolicy::kRollback}}),
        O::choice("cuda_graph", &TrainerOptions::cuda_graph,
                  "capture the training step as a CUDA graph and replay it: auto (where the step "
                  "can be captured; the log says why not elsewhere), on (or fail saying why "
                  "not), try (as auto, and also a model whose step has not yet been shown to "
                  "replay), off",
                  {{cuda_graph_mode_name(CudaGraphMode::kAuto), CudaGraphMode::kAuto},
                   {cuda_graph_mode_name(CudaGraphMode::kOn), CudaGraphMode::kOn},
                   {cuda_graph_mode_name(CudaGraphMode::kTry), CudaGraphMode::kTry},
                   {cuda_graph_mode_name(CudaGraphMode::kOff), CudaGraphMode::kOff}}),
    });
    return out;
  }();
  return options;
}

void check_trainer_options(const TrainerOptions& o) {
  check_options(trainer_option_list(), o);
  if (o.max_rollbacks < 0) fail("max_rollbacks must be non-negative (got {})", o.max_rollbacks);
  if (o.report_losses_every < 0)
    fail("report_losses_every must be non-negative (got {})", o.report_losses_every);
}

}  // namespace polyphony
