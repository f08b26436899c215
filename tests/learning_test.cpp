// Learning tests on the built-in dataset: statistical margins over seeds, not pinned values.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <functional>
#include <iostream>
#include <utility>

#include "engine/data/data_options.h"
#include "engine/data/negative_sampler.h"
#include "engine/data/prepared_data.h"
#include "engine/eval/evaluator.h"
#include "engine/eval/evaluator_options.h"
#include "engine/train/trainer.h"
#include "models/registry.h"

namespace polyphony {
namespace {

// The trainer's defaults (BPR, one negative) for `epochs` epochs at learning rate `lr`.
TrainerOptions default_training(int64_t epochs, double lr = OptimizerOptions{}.lr) {
  TrainerOptions options;
  options.epochs = epochs;
  options.optimizer.lr = lr;
  return options;
}

// The training of the ProtoMF code (sampled softmax over uniform negatives, Adam with L2), scaled
// to the demo data: its L2 pulls the rarely sampled rows of the N(0, 1) initialisation towards 0,
// without which their random scores swamp the full ranking.
TrainerOptions prototype_training(int64_t epochs) {
  TrainerOptions options;
  options.epochs = epochs;
  options.loss = "softmax";
  options.negatives = 8;
  options.batch_size = 512;
  options.optimizer.weight_decay = 1.67e-4;
  return options;
}

// Trains `model` on `data` (no validation) and returns its test evaluation.
EvaluationResult train_and_test(const PreparedData& data, const std::string& model_name,
                                TrainerOptions options,
                                const nlohmann::json& model_options = nlohmann::json::object()) {
  ModelContext ctx{data.dataset.num_users, data.dataset.num_items, data.split.train.users,
                   data.split.train.items};
  auto model = make_model(model_name, ctx, model_options);
  options.eval_every = 0;
  const auto sampler = NegativeSampler::uniform(data.train);
  Trainer(*model, data.split.train, sampler, options).fit();
  EvaluatorOptions eval;
  eval.ks = {10};
  return Evaluator(data.train, data.dataset.item_groups, eval, torch::kCPU)
      .evaluate(*model, data.seen, data.test, "test");
}

double test_ndcg(const PreparedData& data, const std::string& model_name, int64_t epochs) {
  return train_and_test(data, model_name, default_training(epochs)).metric("NDCG@10");
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

// On two splits of the demo data, the model `train` returns (trained with torch seeded by the
// split's seed) beats popularity's NDCG@10 by the factor `margin`.
void expect_beats_popularity(const std::string& name,
                             const std::function<double(const PreparedData&)>& train,
                             double margin = 1.5) {
  for (uint64_t seed : {4u, 5u}) {
    DataSetup setup;
    setup.split.seed = seed;
    const PreparedData data = prepare_data(setup);
    const double pop = test_ndcg(data, "pop", 1);
    torch::manual_seed(seed);
    const double ndcg = train(data);
    EXPECT_GT(ndcg, margin * pop) << "seed " << seed << ": " << name << " " << ndcg << ", pop "
                                  << pop;
  }
}

TEST(Learning, LightGcnBeatsPopularityOnTheDemoData) {
  expect_beats_popularity("LightGCN",
                          [](const PreparedData& data) { return test_ndcg(data, "lightgcn", 8); });
}

TEST(Learning, MultiInterestBeatsPopularityOnTheDemoData) {
  expect_beats_popularity("multi-interest", [](const PreparedData& data) {
    return train_and_test(data, "multi-interest", default_training(6, 0.02),
                          {{"dim", 32}, {"layers", 2}})
        .metric("NDCG@10");
  });
}

const nlohmann::json kSmallPrototypes = {
    {"dim", 32}, {"user_prototypes", 32}, {"item_prototypes", 32}};

TEST(Learning, UiProtoMfBeatsPopularityOnTheDemoData) {
  expect_beats_popularity("UI-ProtoMF", [](const PreparedData& data) {
    return train_and_test(data, "uiprotomf", prototype_training(8), kSmallPrototypes)
        .metric("NDCG@10");
  });
}

// The one-sided variants: I-ProtoMF as UI-ProtoMF; U-ProtoMF, whose item embedding lives in the
// space of user similarities, learns more slowly (NDCG@10 1.25–1.35 × popularity's in 8 epochs).
TEST(Learning, OneSidedProtoMfBeatsPopularityOnTheDemoData) {
  for (const auto& model : {std::pair{"iprotomf", 1.5}, std::pair{"uprotomf", 1.15}}) {
    const std::string name = model.first;
    expect_beats_popularity(
        name,
        [&](const PreparedData& data) {
          return train_and_test(data, name, prototype_training(8), kSmallPrototypes)
              .metric("NDCG@10");
        },
        model.second);
  }
}

// ACF mixes anchors through a softmax of e·a: with the official N(0, 1) start its logits have
// standard deviation √d and the softmax saturates, so the test starts at 0.3 (docs/models.md).
TEST(Learning, AcfBeatsPopularityOnTheDemoData) {
  expect_beats_popularity("ACF", [](const PreparedData& data) {
    auto options = prototype_training(16);
    options.optimizer.weight_decay = 0;
    return train_and_test(data, "acf", options, {{"dim", 32}, {"init_std", 0.3}}).metric("NDCG@10");
  });
}

// Prototype top-k filtering with the distributing regulariser (Moradi et al., arXiv 2405.17607 and
// 2412.14329) where prototypes are scarce: the demo data with 96 listening scenes for 32
// prototypes, as LFM-2b has far more countries and scenes than a model has prototypes. Trained to
// 32 epochs, the filtered model recommends less popular items and is no less accurate. With
// LibTorch's default projection start it also recommended more long-tail items and ranked the
// minority group's test items closer to the majority's; with the official kaiming-uniform start
// (the default since 2026-11-28) the plain model's gap is smaller already and the filter no
// longer narrows it (docs/models.md has both sets of numbers).
class FilterAndDistributing : public ::testing::TestWithParam<uint64_t> {};

TEST_P(FilterAndDistributing, MakeRecommendationsLessPopularAtNoAccuracyCost) {
  const uint64_t seed = GetParam();
  nlohmann::json distributed = kSmallPrototypes;
  distributed["k_user"] = 16;
  distributed["k_item"] = 16;
  distributed["ortho_weight"] = 0.1;
  DataSetup setup;
  setup.load.source = parse_dataset("synthetic:music-demo,communities=96");
  setup.split.seed = seed;
  const PreparedData data = prepare_data(setup);
  torch::manual_seed(seed);
  const auto plain = train_and_test(data, "uiprotomf", prototype_training(32), kSmallPrototypes);
  torch::manual_seed(seed);
  const auto filtered = train_and_test(data, "uiprotomf", prototype_training(32), distributed);
  EXPECT_LT(filtered.metric("ARP@10"), plain.metric("ARP@10"));
  EXPECT_GT(filtered.metric("NDCG@10"), 0.95 * plain.metric("NDCG@10"));
  EXPECT_GT(plain.metric("AvgRankGap"), 0) << "the minority group should start behind";
  std::cout << "seed " << seed << ": ARP@10 " << plain.metric("ARP@10") << " -> "
            << filtered.metric("ARP@10") << ", AvgRankGap " << plain.metric("AvgRankGap") << " -> "
            << filtered.metric("AvgRankGap") << ", NDCG@10 " << plain.metric("NDCG@10") << " -> "
            << filtered.metric("NDCG@10") << ", APLT@10 " << plain.metric("APLT@10") << " -> "
            << filtered.metric("APLT@10") << "\n";
}

INSTANTIATE_TEST_SUITE_P(Learning, FilterAndDistributing, ::testing::Values(1u, 2u, 3u));

// ReSN (Lin et al., WSDM 2025) penalises the principal singular value where popularity is
// memorised: recommendations get less popular (ARP@10) without losing accuracy.
TEST(Learning, ResnLowersTheAveragePopularityOfRecommendations) {
  for (uint64_t seed : {11u, 12u}) {
    DataSetup setup;
    setup.split.seed = seed;
    const PreparedData data = prepare_data(setup);
    torch::manual_seed(seed);
    const auto mf = train_and_test(data, "mf", default_training(12));
    torch::manual_seed(seed);
    const auto resn = train_and_test(data, "mf", default_training(12), {{"resn_weight", 0.01}});
    EXPECT_LT(resn.metric("ARP@10"), 0.8 * mf.metric("ARP@10")) << "seed " << seed;
    EXPECT_GT(resn.metric("NDCG@10"), 0.9 * mf.metric("NDCG@10")) << "seed " << seed;
  }
}

}  // namespace
}  // namespace polyphony
