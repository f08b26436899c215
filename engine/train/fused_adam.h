#pragma once
// Adam and AdamW whose update is one fused multi-tensor ATen operator (at::_fused_adam_,
// at::_fused_adamw_) over all parameters, where torch::optim's loop runs about ten operators per
// parameter: on CUDA a few kernel launches per step instead of dozens, on the CPU one vectorised
// pass over each parameter instead of ten. Options, per-parameter state and save/load are
// torch::optim::Adam's and AdamW's own, so checkpoints written by either load in the other.

#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>

#include <cstdint>
#include <unordered_map>

namespace polyphony {

// The fused operators read each parameter's step count from a float tensor on its device; these
// mirror the state's integer count and are incremented on the device, so no value crosses from
// the host per step. One is rebuilt from the state when they disagree (after load()).
struct FusedStepCounter {
  at::Tensor value;
  int64_t count = 0;
};
using FusedStepCounters = std::unordered_map<const void*, FusedStepCounter>;

// `Base` is torch::optim::Adam or AdamW; `decoupled` says whether weight decay is AdamW's.
template <typename Base, typename State, typename Options, bool decoupled>
class FusedAdamOf : public Base {
 public:
  using Base::Base;
  at::Tensor step(typename Base::LossClosure closure = nullptr) override;

 private:
  FusedStepCounters counters_;
};

using FusedAdam = FusedAdamOf<torch::optim::Adam, torch::optim::AdamParamState,
                              torch::optim::AdamOptions, /*decoupled=*/false>;
using FusedAdamW = FusedAdamOf<torch::optim::AdamW, torch::optim::AdamWParamState,
                               torch::optim::AdamWOptions, /*decoupled=*/true>;

}  // namespace polyphony
