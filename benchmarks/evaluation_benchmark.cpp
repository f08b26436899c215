// Full-ranking evaluation throughput (users/s) with every metric, at MovieLens-1M's shape
// (6,040 users × 3,706 items, ~80 % of its 1M interactions as training and 20 % as test), for an
// MF model with random factors (d 64), on the CPU and, when present, CUDA.

#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include "benchmarks/benchmarks.h"
#include "engine/eval/evaluator.h"
#include "engine/eval/sampled_evaluator.h"
#include "models/registry.h"

namespace polyphony {
namespace {

struct Ml1mShape {
  static constexpr int64_t users = 6040, items = 3706, per_user = 165, dim = 64;
};

void evaluate(benchmark::State& state, torch::Device device, bool sampled) {
  torch::manual_seed(0);
  const int64_t users = Ml1mShape::users, items = Ml1mShape::items;
  // Each user: per_user distinct random items, the first 80 % training, the rest test.
  auto ranked =
      torch::rand({users, items}).argsort(/*dim=*/int64_t{1}).narrow(1, 0, Ml1mShape::per_user);
  const int64_t cut = Ml1mShape::per_user * 4 / 5;
  auto user_of = torch::arange(users).unsqueeze(1);
  Interactions train{
      user_of.expand({users, cut}).reshape(-1), ranked.narrow(1, 0, cut).reshape(-1), {}, {}};
  Interactions test{user_of.expand({users, Ml1mShape::per_user - cut}).reshape(-1),
                    ranked.narrow(1, cut, Ml1mShape::per_user - cut).reshape(-1),
                    {},
                    {}};
  const UserItemIndex train_index(train, users, items), test_index(test, users, items);
  ModelContext context{users, items, train.users, train.items};
  auto model = make_model("mf", context, {{"dim", Ml1mShape::dim}});
  model->to(device);
  ItemGroups groups{"g", torch::randint(3, {items}, torch::kLong), {"a", "b", "c"}, 0, 1};
  EvaluatorOptions options;
  options.eval_memory_mb = 2048;
  const Evaluator full(train_index, groups, options, device);
  const SampledEvaluator sampled_evaluator(groups, options.ks, 99, device);
  const auto train_dev = train_index.to(device), test_dev = test_index.to(device);
  for (auto _ : state) {
    auto r = sampled ? sampled_evaluator.evaluate(*model, train_dev, test_dev, "test")
                     : full.evaluate(*model, train_dev, test_dev, "test");
    benchmark::DoNotOptimize(r.metrics.size());
  }
  state.SetItemsProcessed(users * state.iterations());
}

}  // namespace

void register_evaluation_benchmarks(const c10::Device& device) {
  const std::string dev = device_label(device);
  register_benchmark("evaluate_full_ranking/" + dev + "/ml-1m-shape", "users/s", evaluate, device,
                     false);
  register_benchmark("evaluate_sampled_99/" + dev + "/ml-1m-shape", "users/s", evaluate, device,
                     true);
}

}  // namespace polyphony
