// Learning tests on the built-in dataset: statistical margins over seeds, not pinned values.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <functional>

#include "engine/evaluator.h"
#include "engine/negative_sampler.h"
#include "engine/prepared_data.h"
#include "engine/trainer.h"
#include "models/registry.h"

namespace polyphony {
namespace {

// Trains `model` on `data` (no validation) and returns its test evaluation.
EvaluationResult train_and_test(const PreparedData& data, const std::string& model_name,
                                int64_t epochs,
                                const nlohmann::json& model_options = nlohmann::json::object(),
                                double lr = OptimizerOptions{}.lr) {
  ModelContext ctx{data.dataset.num_users, data.dataset.num_items, data.split.train.users,
                   data.split.train.items};
  auto model = make_model(model_name, ctx, model_options);
  TrainerOptions options;
  options.epochs = epochs;
  options.eval_every = 0;
  options.optimizer.lr = lr;
  const auto sampler = NegativeSampler::uniform(data.train);
  Trainer(*model, data.split.train, sampler, options).fit();
  EvaluatorOptions eval;
  eval.ks = {10};
  return Evaluator(data.train, data.dataset.item_groups, eval, torch::kCPU)
      .evaluate(*model, data.seen, data.test, "test");
}

double test_ndcg(const PreparedData& data, const std::string& model_name, int64_t epochs) {
  return train_and_test(data, model_name, epochs).metric("NDCG@10");
}

TEST(Learning, MatrixFactorizationAndSvdBeatPopularityOnTheDemoData) {
  for (uint64_t seed : {1u, 2u, 3u}) {
    torch::manual_seed(seed);
    DataSetup setup;
    setup.split.seed = seed;
    const PreparedData data = prepare_data(setup);
    const double mf = test_ndcg(data, "mf", 12);
    const double pop = test_ndcg(data, "pop", 1);
    EXPECT_GT(mf, 1.5 * pop) << "seed " << seed << ": MF " << mf << ", popularity " << pop;
    const double svd = test_ndcg(data, "svd", 1);
    EXPECT_GT(svd, 1.2 * pop) << "seed " << seed << ": SVD " << svd << ", popularity " << pop;
  }
}

// The graph models learn from their propagation: on two splits of the demo data, the model
// `train` returns (trained with torch seeded by the split's seed) beats popularity's NDCG@10
// by a wide margin.
void expect_beats_popularity(const std::string& name,
                             const std::function<double(const PreparedData&)>& train) {
  for (uint64_t seed : {4u, 5u}) {
    DataSetup setup;
    setup.split.seed = seed;
    const PreparedData data = prepare_data(setup);
    const double pop = test_ndcg(data, "pop", 1);
    torch::manual_seed(seed);
    const double ndcg = train(data);
    EXPECT_GT(ndcg, 1.5 * pop) << "seed " << seed << ": " << name << " " << ndcg << ", pop " << pop;
  }
}

TEST(Learning, LightGcnBeatsPopularityOnTheDemoData) {
  expect_beats_popularity("LightGCN",
                          [](const PreparedData& data) { return test_ndcg(data, "lightgcn", 8); });
}

TEST(Learning, MultiInterestBeatsPopularityOnTheDemoData) {
  expect_beats_popularity("multi-interest", [](const PreparedData& data) {
    return train_and_test(data, "multi-interest", 6, {{"dim", 32}, {"layers", 2}}, 0.02)
        .metric("NDCG@10");
  });
}

// ReSN (Lin et al., WSDM 2025) penalises the principal singular value where popularity is
// memorised: recommendations get less popular (ARP@10) without losing accuracy.
TEST(Learning, ResnLowersTheAveragePopularityOfRecommendations) {
  for (uint64_t seed : {11u, 12u}) {
    DataSetup setup;
    setup.split.seed = seed;
    const PreparedData data = prepare_data(setup);
    torch::manual_seed(seed);
    const auto mf = train_and_test(data, "mf", 12);
    torch::manual_seed(seed);
    const auto resn = train_and_test(data, "mf", 12, {{"resn_weight", 0.01}});
    EXPECT_LT(resn.metric("ARP@10"), 0.8 * mf.metric("ARP@10")) << "seed " << seed;
    EXPECT_GT(resn.metric("NDCG@10"), 0.9 * mf.metric("NDCG@10")) << "seed " << seed;
  }
}

}  // namespace
}  // namespace polyphony
