#include "benchmarks/step_operators.h"

#include <ATen/ATen.h>

#include <algorithm>

#include "benchmarks/launch_counter.h"
#include "models/recommender.h"

namespace polyphony {

StepOperatorCounts count_step_operators(Recommender& model, const Interactions& train,
                                        const NegativeSampler& sampler, TrainerOptions options,
                                        const c10::Device& device) {
  constexpr int64_t kProfiledSteps = 20;
  const Interactions head = train.select(at::arange(
      std::min(train.size(), kProfiledSteps * options.batch_size), train.users.options()));
  options.eval_every = 0;
  options.checkpoints.folder.clear();
  auto run_epochs = [&](int64_t epochs, int64_t& steps) {
    options.epochs = epochs;
    return count_launches(
        [&] { steps = Trainer(model, head, sampler, options).fit().global_steps; }, device);
  };
  int64_t one_epoch_steps = 0, two_epoch_steps = 0;
  const LaunchCounts one = run_epochs(1, one_epoch_steps);
  const LaunchCounts two = run_epochs(2, two_epoch_steps);
  const double per_step =
      1.0 / static_cast<double>(std::max<int64_t>(1, two_epoch_steps - one_epoch_steps));
  auto steady = [&](int64_t in_two, int64_t in_one) {
    return static_cast<double>(in_two - in_one) * per_step;
  };
  StepOperatorCounts counts;
  counts.operators = steady(two.operators, one.operators);
  counts.kernels = steady(two.kernels, one.kernels);
  counts.synchronizations = steady(two.synchronizations, one.synchronizations);
  counts.setup_operators =
      static_cast<double>(one.operators) - counts.operators * static_cast<double>(one_epoch_steps);
  for (const auto& [name, count] : two.operators_by_name) {
    const auto in_one = one.operators_by_name.find(name);
    const double value = steady(count, in_one == one.operators_by_name.end() ? 0 : in_one->second);
    if (value != 0) counts.by_name[name] = value;
  }
  return counts;
}

}  // namespace polyphony
