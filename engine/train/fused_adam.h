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
#include <vector>

namespace polyphony {

// The fused operators read each parameter's step count from a float tensor on its device. The
// parameters of a device that are at the same step share one, which mirrors the states' integer
// count and is incremented on the device once per step: one operator, and no value crosses from
// the host. It is rebuilt from the state when they disagree (after load()); a parameter at another
// count than its device's others (one that skipped steps) gets a tensor of its own for the step.
struct FusedStepCounter {
  at::Tensor value;
  int64_t count = 0;
};
using FusedStepCounters = std::unordered_map<c10::Device, FusedStepCounter>;

// What the trainer asks of a fused Adam(W) for a step captured as a CUDA graph
// (engine/train/step_graph.h), where host values are baked into the recording.
class FusedAdamControl {
 public:
  virtual ~FusedAdamControl() = default;
  // From here on the step reads its learning rate from a float32 scalar on `device`.
  virtual void use_device_learning_rate(const c10::Device& device) = 0;
  // Writes `lr` there when it differs from the value there (no operator otherwise).
  virtual void set_device_learning_rate(double lr) = 0;
  // The device ran the last step again (a replay): the host's step counts follow.
  virtual void count_replayed_step() = 0;
};

// The fused Adam(W) behind `optimizer`, or null when it is another optimiser.
FusedAdamControl* fused_adam(torch::optim::Optimizer* optimizer);

// `Base` is torch::optim::Adam or AdamW; `decoupled` says whether weight decay is AdamW's.
template <typename Base, typename State, typename Options, bool decoupled>
class FusedAdamOf : public Base, public FusedAdamControl {
 public:
  using Base::Base;
  at::Tensor step(typename Base::LossClosure closure = nullptr) override;
  void use_device_learning_rate(const c10::Device& device) override;
  void set_device_learning_rate(double lr) override;
  void count_replayed_step() override;

 private:
  FusedStepCounters counters_;
  at::Tensor device_lr_;                    // undefined: the options' learning rate, a host value
  double device_lr_value_ = 0;              // what device_lr_ holds
  std::vector<void*> last_stepped_;         // the parameters the last step updated
  std::vector<c10::Device> last_advanced_;  // the devices whose shared counter it incremented
};

using FusedAdam = FusedAdamOf<torch::optim::Adam, torch::optim::AdamParamState,
                              torch::optim::AdamOptions, /*decoupled=*/false>;
using FusedAdamW = FusedAdamOf<torch::optim::AdamW, torch::optim::AdamWParamState,
                               torch::optim::AdamWOptions, /*decoupled=*/true>;

}  // namespace polyphony
