#pragma once
// The trainer's options and their descriptors (common/option.h): the trainer declares each
// option it takes once, here, with its name, check and help; its default is the field's own.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/option.h"
#include "engine/train/optimization.h"
#include "engine/train/step_graph.h"
#include "kernels/ranking_losses.h"

namespace polyphony {

struct CheckpointOptions {
  /// Folder of the checkpoints; empty: none are written.
  std::filesystem::path folder;
  /// Also every this many optimiser steps (0: only at epoch ends).
  int64_t every_steps = 0;
  /// Every this many epochs (0: only at the end, on a stop request and at a new best).
  int64_t every_epochs = 1;
  /// Step checkpoints kept (best.ckpt is kept besides).
  int64_t keep_last = 3;
  /// Stored in every checkpoint as it is (resolved config, data fingerprint, id maps); the
  /// caller reads it back to check that a resume is compatible.
  nlohmann::json metadata;
};

enum class NonFinitePolicy {
  kStop,      // stop with a message naming the step and loss terms
  kRollback,  // reload the last checkpoint, halve the learning rate, go on
};

struct TrainerOptions {
  /// Passes over the training interactions.
  int64_t epochs = 30;
  /// Positive interactions per step.
  int64_t batch_size = 4096;
  /// Negatives sampled per positive.
  int64_t negatives = 1;
  /// Ranking loss: bpr, softmax, bce or mse.
  std::string loss = "bpr";
  /// Mean or sum of the ranking loss's terms over a batch.
  LossReduction loss_reduction = LossReduction::kMean;
  OptimizerOptions optimizer;
  LearningRateSchedule schedule;
  /// Clip the global gradient norm to this (0: no clipping).
  double clip_grad_norm = 0;
  /// Validate every this many epochs (0: never).
  int64_t eval_every = 5;
  /// Metric that selects the best epoch and drives early stopping.
  std::string monitor = "NDCG@10";
  /// Stop after this many validations without improvement (0: never stop early).
  int64_t patience = 0;
  CheckpointOptions checkpoints;
  NonFinitePolicy on_nonfinite = NonFinitePolicy::kStop;
  /// Rollbacks allowed before giving up (kRollback).
  int64_t max_rollbacks = 3;
  /// Give on_step the epoch's running mean loss terms every this many steps (0: never); each
  /// report reads the sums from the device.
  int64_t report_losses_every = 0;
  /// Capture the steady-state step as a CUDA graph (engine/train/step_graph.h).
  CudaGraphMode cuda_graph = CudaGraphMode::kAuto;
};

// The options of TrainerOptions a user sets (the checkpoint folder and metadata, max_rollbacks
// and report_losses_every are the caller's), in the order of the help.
const std::vector<Option<TrainerOptions>>& trainer_option_list();

// Checks the options (every descriptor's check, and those without one); a bad value is an error
// naming the option.
void check_trainer_options(const TrainerOptions& options);

}  // namespace polyphony
