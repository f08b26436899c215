#pragma once
// What a training step asks of the device: the operators (and on CUDA the kernels and host
// waits) of a steady-state epoch per step, counted by PyTorch's profiler (launch_counter.h). The
// figures `polyphony bench` shows, and the operator targets the tests hold the models to.

#include <map>
#include <string>

#include <c10/core/Device.h>

#include "engine/data/negative_sampler.h"
#include "engine/train/trainer.h"

namespace polyphony {

class Recommender;

struct StepOperatorCounts {
  double operators = 0;                   // per step, nested calls included
  double kernels = 0;                     // per step, CUDA only
  double synchronizations = 0;            // per step, CUDA only
  double setup_operators = 0;             // a run's one-time work before its first step
  std::map<std::string, double> by_name;  // operators per step by name
};

// Per step of a steady-state epoch over the first 20 batches of `train`: a two-epoch run minus a
// one-epoch run, so that a run's one-time setup (the optimiser's state, the first scan of the
// tables) is left out and the work at an epoch's end is spread over its steps. Trains `model`
// for three epochs; `options`' epochs, validation and checkpoints are ignored.
StepOperatorCounts count_step_operators(Recommender& model, const Interactions& train,
                                        const NegativeSampler& sampler, TrainerOptions options,
                                        const c10::Device& device);

}  // namespace polyphony
