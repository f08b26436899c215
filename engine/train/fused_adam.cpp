#include "engine/train/fused_adam.h"

#include <ATen/ops/_fused_adam.h>
#include <ATen/ops/_fused_adamw.h>
#include <ATen/ops/fill.h>
#include <ATen/ops/full.h>
#include <ATen/ops/zeros_like.h>
#include <c10/core/GradMode.h>

#include <algorithm>
#include <memory>
#include <tuple>
#include <vector>

#include "common/error.h"

namespace polyphony {
namespace {

// The fused operators take lists that share one device and dtype.
struct Bucket {
  c10::Device device = c10::kCPU;
  at::ScalarType dtype = at::kFloat;
  std::vector<at::Tensor> params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps;
};

Bucket& bucket_for(std::vector<Bucket>& buckets, const at::Tensor& p) {
  for (auto& b : buckets)
    if (b.device == p.device() && b.dtype == p.scalar_type()) return b;
  buckets.push_back(Bucket{p.device(), p.scalar_type(), {}, {}, {}, {}, {}, {}});
  return buckets.back();
}

// The per-parameter state starts as torch::optim's does: zero moments, step 0.
template <typename State, typename Options, typename StateMap>
State& state_of(StateMap& states, const at::Tensor& p, const Options& options) {
  auto& slot = states[p.unsafeGetTensorImpl()];
  if (!slot) {
    auto fresh = std::make_unique<State>();
    fresh->exp_avg(at::zeros_like(p, at::MemoryFormat::Preserve));
    fresh->exp_avg_sq(at::zeros_like(p, at::MemoryFormat::Preserve));
    slot = std::move(fresh);
  }
  auto& state = static_cast<State&>(*slot);
  if (options.amsgrad() && !state.max_exp_avg_sq().defined())
    state.max_exp_avg_sq(at::zeros_like(p, at::MemoryFormat::Preserve));
  return state;
}

// One Adam(W) step over every group. Adam adds the L2 term to the gradient (Kingma & Ba 2015,
// with weight decay as torch.optim.Adam); AdamW decays the weights apart from it (Loshchilov &
// Hutter 2019, Algorithm 2). Both are the operators torch.optim uses with fused=True.
// `lr` (a device scalar) replaces the options' learning rate when defined; `stepped` gets the
// parameters updated.
template <typename State, typename Options, typename Groups, typename StateMap>
void fused_step(Groups& groups, StateMap& states, FusedStepCounters& counters, bool decoupled,
                const at::Tensor& lr, std::vector<void*>& stepped,
                std::vector<c10::Device>& advanced) {
  stepped.clear();
  advanced.clear();
  // The step count tensor of a parameter now at `step`: its device's shared counter, incremented
  // (or rebuilt) by the first parameter of the device in this step.
  auto step_tensor = [&](const at::Tensor& p, int64_t step) {
    auto& shared = counters[p.device()];
    const bool first = std::find(advanced.begin(), advanced.end(), p.device()) == advanced.end();
    if (first) {
      if (shared.value.defined() && shared.count + 1 == step) {
        shared.value.add_(1);
      } else {
        shared.value = at::full({}, static_cast<double>(step), p.options().dtype(at::kFloat));
      }
      shared.count = step;
      advanced.push_back(p.device());
    }
    if (shared.count == step) return shared.value;
    return at::full({}, static_cast<double>(step), p.options().dtype(at::kFloat));
  };
  for (auto& group : groups) {
    const auto& options = static_cast<const Options&>(group.options());
    std::vector<Bucket> buckets;
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      if (p.grad().is_sparse())
        fail("the Adam step needs dense gradients; a parameter of {} elements has a sparse one",
             p.numel());
      auto& state = state_of<State>(states, p, options);
      state.step(state.step() + 1);
      stepped.push_back(p.unsafeGetTensorImpl());
      auto& b = bucket_for(buckets, p);
      b.params.push_back(p);
      b.grads.push_back(p.grad());
      b.exp_avgs.push_back(state.exp_avg());
      b.exp_avg_sqs.push_back(state.exp_avg_sq());
      if (options.amsgrad()) b.max_exp_avg_sqs.push_back(state.max_exp_avg_sq());
      b.steps.push_back(step_tensor(p, state.step()));
    }
    const auto [beta1, beta2] = options.betas();
    for (auto& b : buckets) {
      if (decoupled && lr.defined()) {
        at::_fused_adamw_(b.params, b.grads, b.exp_avgs, b.exp_avg_sqs, b.max_exp_avg_sqs, b.steps,
                          lr, beta1, beta2, options.weight_decay(), options.eps(),
                          options.amsgrad(), /*maximize=*/false);
      } else if (decoupled) {
        at::_fused_adamw_(b.params, b.grads, b.exp_avgs, b.exp_avg_sqs, b.max_exp_avg_sqs, b.steps,
                          options.lr(), beta1, beta2, options.weight_decay(), options.eps(),
                          options.amsgrad(), /*maximize=*/false);
      } else if (lr.defined()) {
        at::_fused_adam_(b.params, b.grads, b.exp_avgs, b.exp_avg_sqs, b.max_exp_avg_sqs, b.steps,
                         lr, beta1, beta2, options.weight_decay(), options.eps(), options.amsgrad(),
                         /*maximize=*/false);
      } else {
        at::_fused_adam_(b.params, b.grads, b.exp_avgs, b.exp_avg_sqs, b.max_exp_avg_sqs, b.steps,
                         options.lr(), beta1, beta2, options.weight_decay(), options.eps(),
                         options.amsgrad(), /*maximize=*/false);
      }
    }
  }
}

}  // namespace

template <typename Base, typename State, typename Options, bool decoupled>
at::Tensor FusedAdamOf<Base, State, Options, decoupled>::step(typename Base::LossClosure closure) {
  at::Tensor loss;
  if (closure) {
    c10::AutoGradMode enable_grad(true);
    loss = closure();
  }
  c10::NoGradGuard no_grad;
  fused_step<State, Options>(this->param_groups_, this->state_, counters_, decoupled, device_lr_,
                             last_stepped_, last_advanced_);
  return loss;
}

template <typename Base, typename State, typename Options, bool decoupled>
void FusedAdamOf<Base, State, Options, decoupled>::use_device_learning_rate(
    const c10::Device& device) {
  const double lr = this->param_groups_.empty()
                        ? 0.0
                        : static_cast<const Options&>(this->param_groups_.front().options()).lr();
  device_lr_ = at::full({}, lr, at::TensorOptions().dtype(at::kFloat).device(device));
  device_lr_value_ = lr;
}

template <typename Base, typename State, typename Options, bool decoupled>
void FusedAdamOf<Base, State, Options, decoupled>::set_device_learning_rate(double lr) {
  if (!device_lr_.defined() || lr == device_lr_value_) return;
  device_lr_.fill_(lr);
  device_lr_value_ = lr;
}

template <typename Base, typename State, typename Options, bool decoupled>
void FusedAdamOf<Base, State, Options, decoupled>::count_replayed_step() {
  for (void* p : last_stepped_) {
    auto& state = static_cast<State&>(*this->state_.at(p));
    state.step(state.step() + 1);
  }
  for (const auto& device : last_advanced_) ++counters_[device].count;
}

FusedAdamControl* fused_adam(torch::optim::Optimizer* optimizer) {
  return dynamic_cast<FusedAdamControl*>(optimizer);
}

template class FusedAdamOf<torch::optim::Adam, torch::optim::AdamParamState,
                           torch::optim::AdamOptions, false>;
template class FusedAdamOf<torch::optim::AdamW, torch::optim::AdamWParamState,
                           torch::optim::AdamWOptions, true>;

}  // namespace polyphony
