#pragma once
// The training loop. It sees a model only through the Recommender interface and validation only
// through a callback, so it never knows which model it trains or how it is evaluated.
//
// Everything a step needs stays on the training device: the epoch's permutation, negatives, loss
// sums and the finiteness flags are device tensors, read on the host only at a check point (end
// of epoch, checkpoint, stop request). Checkpoints hold the whole state (model, optimiser, epoch
// and step, the epoch's order, loss sums, RNG states, best model), so a resumed run continues
// exactly where the checkpoint was taken.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include "engine/data/dataset.h"
#include "engine/data/negative_sampler.h"
#include "engine/eval/evaluator.h"
#include "engine/train/optimization.h"
#include "engine/train/step_graph.h"
#include "engine/train/trainer_options.h"
#include "kernels/ranking_losses.h"

namespace torch::optim {
class Optimizer;
}
namespace torch::serialize {
class InputArchive;
class OutputArchive;
}  // namespace torch::serialize

namespace polyphony {

class Recommender;
class CheckpointDirectory;
class ModelOptimizer;
class Collective;

struct EpochRecord {
  int64_t epoch = 0;
  std::map<std::string, double> losses;  // "loss" (total), "ranking", and each regulariser
  double seconds = 0;                    // in this process (a resumed epoch counts its part)
  double interactions_per_second = 0;
  double step_seconds = 0;  // mean wall time of a step
  double lr = 0;            // learning rate at the epoch's last step
  int64_t global_step = 0;
  std::optional<EvaluationResult> validation;
};

// Where training is, after each optimiser step: host values, read from the device only for
// `losses` (every `report_losses_every` steps).
struct StepProgress {
  int64_t epoch = 0;  // 1-based, the epoch in progress
  int64_t epochs = 0;
  int64_t step_in_epoch = 0;  // steps done in this epoch
  int64_t steps_per_epoch = 0;
  int64_t global_step = 0;
  // Every `report_losses_every` steps: the mean of each loss term over the epoch's steps so far
  // (the global batch's, as in EpochRecord); empty at the other steps.
  std::map<std::string, double> losses;
};

struct TrainingSummary {
  int64_t epochs_run = 0;
  int64_t global_steps = 0;
  int64_t best_epoch = 0;  // 0 when no validation ran
  double best_metric = 0;
  bool stopped_early = false;
  bool interrupted = false;        // a stop request ended training; a checkpoint was written
  int64_t resumed_from_step = -1;  // -1: a fresh start
  int64_t rollbacks = 0;           // NonFinitePolicy::kRollback reloads
  std::string last_checkpoint;     // path of the newest checkpoint written ("" if none)
  double seconds = 0;
};

struct TrainerHooks {
  // Validation metrics of the model; absent: no validation.
  std::function<EvaluationResult(Recommender&)> validate;
  // After each epoch (and its validation).
  std::function<void(const EpochRecord&)> on_epoch;
  // After each optimiser step.
  std::function<void(const StepProgress&)> on_step;
  // Polled after each step; true: write a checkpoint and return with `interrupted`.
  std::function<bool()> stop_requested;
  // Notes worth a line in the log (checkpoint written, rollback).
  std::function<void(const std::string&)> log;
  // The processes of a data-parallel run (absent: this process alone). Each takes its share of
  // every batch, gradients are summed, and only rank 0 writes checkpoints; `validate` must then
  // give every process the same result (a sharded Evaluator does).
  Collective* collective = nullptr;
};

class Trainer {
 public:
  // `train` lives on the training device.
  Trainer(Recommender& model, Interactions train, const NegativeSampler& sampler,
          TrainerOptions options, TrainerHooks hooks = {});
  ~Trainer();

  // Trains from scratch, or from `resume` (a checkpoint this trainer's kind wrote, for the same
  // model and data), and with validation leaves the best epoch's parameters in the model.
  TrainingSummary fit(torch::serialize::InputArchive* resume = nullptr);

 private:
  struct State;
  enum class EpochEnd { kCompleted, kRolledBack, kInterrupted };

  // Drops the interactions of users with no negative item to sample (they have every item the
  // sampler can draw: a positive would be scored against itself), with a log line counting
  // them; none left is an error.
  void leave_out_users_without_negatives();

  // The parameters the optimiser updates densely and the embedding tables it updates by rows
  // (row-sparse updates), and the optimiser over them.
  void create_optimizer();
  // At the end of an epoch: the periodic, final or best checkpoint; true when a stop was asked
  // for (the state is saved: the run is interrupted).
  bool save_after_epoch(State& state, int64_t epoch, bool improved);
  // Step 0 (saved as the first checkpoint, identical on every process) or the resumed state;
  // returns the step it resumed from (0 when starting).
  int64_t start_or_resume(State& state, torch::serialize::InputArchive* resume);
  // The rest of the epoch's steps, with step checkpoints and the stop and non-finite checks.
  EpochEnd run_steps(State& state, int64_t epoch);
  // The epoch's record (losses summed over the processes, speed) and the state of a new epoch.
  EpochRecord end_epoch(State& state, int64_t epoch, double seconds, int64_t first_step);
  // The epoch's loss sums of the global batch (every process's part added).
  std::map<std::string, at::Tensor> global_loss_sums(const State& state);
  // Validates when due; true when the monitored metric improved (the parameters are kept).
  bool validate(State& state, EpochRecord& record);
  TrainingSummary summarize(const State& state, double seconds, bool interrupted) const;
  // True on every process when a stop was asked for on any (a collective call).
  bool stop_requested();

  void step(State& state);
  // The step's work once its batch is drawn: loss, backward, bookkeeping, update (the part a
  // CUDA graph captures, with the draw).
  void run_step(State& state, const DrawnBatch& drawn);
  // Replays the captured step, or captures it once the run is warm; false: run it eagerly.
  bool graph_step(State& state, int64_t begin);
  // Why this run's step cannot be captured as a CUDA graph (empty: it can).
  std::string graph_obstacle() const;
  // Decides, from options_.cuda_graph and graph_obstacle(), whether steps are captured; says so.
  void plan_step_graph();
  // Sums gradients over the processes, clips, adds the step's loss terms (name, value) weighted by
  // `share` to the epoch's sums and health, steps the optimiser.
  void synchronize_gradients(State& state,
                             const std::vector<std::pair<std::string, at::Tensor>>& terms,
                             double share);
  // Reads the device-side flags; false when a non-finite loss, gradient or parameter appeared.
  bool healthy(const State& state);
  // Stops with a message, or rolls back to the last checkpoint (returns normally then).
  void handle_nonfinite(State& state);
  void save(State& state, bool step_file, bool best);
  void save_state(const State& state, const std::map<std::string, at::Tensor>& loss_sums,
                  torch::serialize::OutputArchive& archive);
  void restore(State& state, torch::serialize::InputArchive& archive);
  void log(const std::string& message) const;
  bool distributed() const;
  bool main_process() const;
  // True on every process when any of them says `flag` (a collective call: all processes must
  // make it together).
  bool any_process(bool flag);

  Recommender& model_;
  Interactions train_;
  const NegativeSampler& sampler_;
  TrainerOptions options_;
  RankingLoss loss_ = RankingLoss::kBpr;  // options_.loss
  TrainerHooks hooks_;
  std::vector<at::Tensor> parameters_;
  // With row-sparse embedding updates, the model's embedding tables and the other parameters.
  std::vector<at::Tensor> tables_, dense_parameters_;
  // Whether healthy() has scanned the tables since they were set (start or restore): after that,
  // the row updates' own flag answers for them.
  bool tables_scanned_ = false;
  std::unique_ptr<ModelOptimizer> optimizer_;
  std::unique_ptr<StepGraph> graph_;  // null: eager steps
  std::unique_ptr<CheckpointDirectory> checkpoints_;
  int64_t steps_per_epoch_ = 0;
};

}  // namespace polyphony
