#pragma once
// Optimisers, learning-rate schedules and gradient clipping for the trainer. The schedule is a
// pure function of the step, so a resumed run needs only the step to continue it exactly.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "common/option.h"

namespace torch::optim {
class Optimizer;
}

namespace polyphony {

// How embedding tables (Recommender::embedding_tables) are updated: every row at every step, or
// only the rows a step read (engine/train/row_sparse_optimizer.h); kAuto chooses by the tables'
// size (resolve_embedding_updates).
enum class EmbeddingUpdates { kDense, kRowSparse, kAuto };

// kAuto's rule: row-sparse updates once the embedding tables hold this many rows in all. A dense
// update touches every row at every step, a row-sparse one the rows the batch read, plus a sort
// and a sum of those; docs/benchmarks.md ("Choosing the embedding updates") has the measurements
// the threshold comes from.
inline constexpr int64_t kRowSparseFromRows = 100000;

// What `requested` means for a model with embedding tables `tables`: kAuto is kRowSparse from
// kRowSparseFromRows rows in all, else kDense (exact parity with dense Adam where the tables are
// small); the others stay as they are.
EmbeddingUpdates resolve_embedding_updates(EmbeddingUpdates requested,
                                           const std::vector<at::Tensor>& tables);
// The rows of `tables` in all.
int64_t embedding_rows(const std::vector<at::Tensor>& tables);

struct OptimizerOptions {
  /// adam, adamw (fused: engine/train/fused_adam.h), adagrad or sgd.
  std::string name = "adam";
  EmbeddingUpdates embedding_updates = EmbeddingUpdates::kAuto;
  double lr = 5e-3;
  double weight_decay = 0.0;
  /// SGD momentum (ignored by the others).
  double momentum = 0.9;
};

// Its name as embedding_updates takes it: dense, sparse or auto.
const char* embedding_updates_name(EmbeddingUpdates updates);

// The descriptors of its options: optimizer (the name), lr, weight_decay, momentum,
// embedding_updates.
const std::vector<Option<OptimizerOptions>>& optimizer_option_list();
// A bad option is an error naming it.
void check_optimizer_options(const OptimizerOptions& options);
// Builds the optimiser over `parameters` (options checked first).
std::unique_ptr<torch::optim::Optimizer> make_optimizer(const std::vector<at::Tensor>& parameters,
                                                        const OptimizerOptions& options);

enum class ScheduleKind { kConstant, kStep, kCosine };

struct LearningRateSchedule {
  ScheduleKind kind = ScheduleKind::kConstant;
  /// kStep: multiply by `gamma` every `step_epochs` epochs.
  int64_t step_epochs = 0;
  double gamma = 0.1;
  /// Linear warm-up from lr / warmup_steps to lr over the first steps (0: none).
  int64_t warmup_steps = 0;

  // "constant", "step:EPOCHS:GAMMA" or "cosine", as printed by spec().
  std::string spec() const;
  // The factor applied to the base learning rate at `step` (0-based), in a run of `total_steps`
  // steps of `steps_per_epoch` each.
  double factor(int64_t step, int64_t steps_per_epoch, int64_t total_steps) const;
};

// constant | cosine | step:EPOCHS:GAMMA (warm-up is warmup_steps, kept apart); a bad text is an
// error naming `lr_schedule`.
LearningRateSchedule parse_schedule(const std::string& text);
// The descriptors of lr_schedule and warmup_steps.
const std::vector<Option<LearningRateSchedule>>& schedule_option_list();

// Sets the learning rate of every parameter group.
void set_learning_rate(torch::optim::Optimizer& optimizer, double lr);

// Scales the gradients so that their global L2 norm is at most `max_norm` and returns that norm
// (before scaling) as a device scalar. Sparse gradients must be coalesced. Unlike
// torch::nn::utils::clip_grad_norm_, which returns a double and so waits for the device every step,
// nothing here leaves the device.
at::Tensor clip_gradient_norm(const std::vector<at::Tensor>& parameters, double max_norm);

}  // namespace polyphony
