#pragma once
// What a checkpoint holds (engine/train/checkpoint.h has its file and its folder): the model's
// and the optimiser's state, where training stands (TrainingProgress), the epoch's loss sums, the
// random generators and the run's metadata. Written and read here only, so the trainer and the
// tools that look into a checkpoint agree on its layout.

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>
#include <nlohmann/json.hpp>

namespace torch::nn {
class Module;
}

namespace polyphony {

class ModelOptimizer;

// Where training stands: what a checkpoint holds besides the model, the optimiser, the loss sums
// and the random generators.
struct TrainingProgress {
  int64_t epoch = 0;          // completed epochs
  int64_t step_in_epoch = 0;  // steps done in epoch + 1
  int64_t global_step = 0;
  at::Tensor order;  // epoch + 1's permutation, while it is under way
  double best_metric = -std::numeric_limits<double>::infinity();
  int64_t best_epoch = 0;
  int64_t validations_since_best = 0;
  std::vector<at::Tensor> best_parameters;
  double lr_scale = 1.0;  // halved by each rollback
  int64_t rollbacks = 0;
  bool finished = false;
  bool stopped_early = false;
};

// The epoch's loss sums (over every process) and its finiteness health, as saved.
struct SavedLosses {
  std::map<std::string, at::Tensor> sums;
  at::Tensor all_finite;    // bool scalar: every step so far had a finite loss
  at::Tensor finite_steps;  // int64 scalar: the steps before the first non-finite one
};

// Writes a training state into `archive`: the model's and the optimiser's state, `progress`,
// `losses`, the CPU's and `device`'s default generators, and `metadata` (JSON text).
void write_training_state(torch::serialize::OutputArchive& archive, torch::nn::Module& model,
                          ModelOptimizer& optimizer, const TrainingProgress& progress,
                          const SavedLosses& losses, c10::Device device,
                          const std::string& metadata);

// Reads one back: the model's and the optimiser's state in place, the generators set; the
// progress and the losses returned, their tensors on `device`. A missing or damaged part is an
// Error saying so.
std::pair<TrainingProgress, SavedLosses> read_training_state(
    torch::serialize::InputArchive& archive, torch::nn::Module& model, ModelOptimizer& optimizer,
    c10::Device device);

// The metadata stored in a checkpoint.
nlohmann::json checkpoint_metadata(torch::serialize::InputArchive& checkpoint);
// The number of completed epochs recorded in a checkpoint.
int64_t checkpoint_epoch(torch::serialize::InputArchive& checkpoint);
// The optimiser steps taken when the checkpoint was written.
int64_t checkpoint_step(torch::serialize::InputArchive& checkpoint);

}  // namespace polyphony
