// The training step captured as a CUDA graph (--cuda-graph): refused or explained where it
// cannot be captured, and on CUDA the same training as eager steps, through an epoch's shorter
// last batch, a new epoch's order, a schedule's learning rates and a resume.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <string>
#include <vector>

#include "device_cases.h"
#include "engine/data/user_item_index.h"
#include "engine/train/trainer.h"
#include "models/registry.h"
#include "tests/test_support.h"

namespace polyphony {
namespace {

constexpr int64_t kUsers = 50, kItems = 90;

struct GraphRun {
  std::vector<double> epoch_losses;
  std::vector<at::Tensor> parameters;
  std::vector<std::string> log;
};

// `model` (with `settings`) trained from `seed` on `device` with `mode`: 200 interactions of
// about 550 per epoch in batches of 64 (eight full steps and a shorter one), a cosine schedule.
GraphRun train_model(const Interactions& data, const torch::Device& device, CudaGraphMode mode,
                     uint64_t seed, const std::string& model_name = "mf",
                     const nlohmann::json& settings = {{"dim", 16}}, int64_t epochs = 3) {
  const Interactions train = data.to(device);
  const UserItemIndex index(train, kUsers, kItems);
  const auto sampler = NegativeSampler::uniform(index);
  torch::manual_seed(seed);
  auto model = make_model(model_name, {kUsers, kItems, data.users, data.items}, settings);
  model->to(device);
  TrainerOptions options;
  options.epochs = epochs;
  options.batch_size = 64;
  options.negatives = 3;
  options.eval_every = 0;
  options.cuda_graph = mode;
  options.schedule.kind = ScheduleKind::kCosine;
  GraphRun run;
  TrainerHooks hooks;
  hooks.on_epoch = [&](const EpochRecord& e) { run.epoch_losses.push_back(e.losses.at("loss")); };
  hooks.log = [&](const std::string& line) { run.log.push_back(line); };
  Trainer(*model, train, sampler, options, hooks).fit();
  for (const auto& p : model->parameters()) run.parameters.push_back(p.detach().cpu().clone());
  return run;
}

bool logged(const GraphRun& run, const std::string& text) {
  for (const auto& line : run.log)
    if (line.find(text) != std::string::npos) return true;
  return false;
}

TEST(StepGraph, OnIsRefusedWhereTheStepCannotBeCaptured) {
  const auto data = testing::random_interactions(kUsers, kItems, 20);
  const std::string message =
      testing::error_of([&] { train_model(data, torch::kCPU, CudaGraphMode::kOn, 1); });
  EXPECT_NE(message.find("`cuda_graph` on: training runs on cpu"), std::string::npos) << message;
}

TEST(StepGraph, AutoAndTryTrainEagerlyOnTheCpuAsOffDoes) {
  const auto data = testing::random_interactions(kUsers, kItems, 20);
  const auto off = train_model(data, torch::kCPU, CudaGraphMode::kOff, 3);
  for (const auto mode : {CudaGraphMode::kAuto, CudaGraphMode::kTry}) {
    const auto run = train_model(data, torch::kCPU, mode, 3);
    EXPECT_EQ(run.epoch_losses, off.epoch_losses) << cuda_graph_mode_name(mode);
    for (size_t k = 0; k < off.parameters.size(); ++k)
      EXPECT_TRUE(torch::equal(run.parameters[k], off.parameters[k]));
    EXPECT_FALSE(logged(run, "CUDA graph"));  // nothing to say about graphs on the CPU
  }
}

// Which models say their step replays (auto captures those), and which say what stops it.
TEST(StepGraph, ModelsDeclareWhetherTheirStepIsShownOrStopped) {
  const ModelContext context{4, 5, {}, {}};
  const auto mf = make_model("mf", context);
  EXPECT_TRUE(mf->graph_capture_shown());
  EXPECT_EQ(mf->graph_capture_obstacle(), "");
  for (const char* name : {"uiprotomf", "uprotomf", "iprotomf", "acf"}) {
    const auto model = make_model(name, context);
    EXPECT_FALSE(model->graph_capture_shown()) << name;  // not yet run under capture on a GPU
    EXPECT_EQ(model->graph_capture_obstacle(), "") << name;
  }
  // ReSN's power iteration carries a warm start from step to step; its distinct users are a
  // shape from the batch's values.
  EXPECT_NE(make_model("mf", context, {{"resn_weight", 0.1}})
                ->graph_capture_obstacle()
                .find("warm start"),
            std::string::npos);
  EXPECT_NE(make_model("mf", context,
                       {{"resn_weight", 0.1}, {"resn_form", "ratio"}, {"resn_unique_users", true}})
                ->graph_capture_obstacle()
                .find("distinct users"),
            std::string::npos);
  EXPECT_EQ(make_model("mf", context, {{"resn_weight", 0.1}, {"resn_form", "ratio"}})
                ->graph_capture_obstacle(),
            "");
}

TEST(StepGraph, ModesParseAndPrint) {
  for (const auto mode :
       {CudaGraphMode::kAuto, CudaGraphMode::kOn, CudaGraphMode::kTry, CudaGraphMode::kOff})
    EXPECT_EQ(parse_cuda_graph_mode(cuda_graph_mode_name(mode)), mode);
  EXPECT_FALSE(parse_cuda_graph_mode("yes").has_value());
}

// CUDA: replayed steps train as eager ones, for MF (auto captures it) and for every model that
// nothing known stops (try captures them; each passing case is what a model needs before it
// declares graph_capture_shown). The dense gradients of the gathered loss are summed with
// atomics, so the runs agree to rounding, not bit for bit.
struct CapturedModel {
  std::string name;
  nlohmann::json settings;
  CudaGraphMode mode;
};

class ReplayedSteps : public ::testing::TestWithParam<CapturedModel> {};

TEST_P(ReplayedSteps, TrainAsEagerSteps) {
  const torch::Device device(torch::kCUDA);
  POLYPHONY_SKIP_WITHOUT(device);
  const auto& model = GetParam();
  const auto data = testing::random_interactions(kUsers, kItems, 20);
  const auto graph = train_model(data, device, model.mode, 7, model.name, model.settings);
  const auto eager = train_model(data, device, CudaGraphMode::kOff, 7, model.name, model.settings);
  EXPECT_TRUE(logged(graph, "CUDA graph: the training step is captured"));
  ASSERT_EQ(graph.epoch_losses.size(), eager.epoch_losses.size());
  for (size_t e = 0; e < eager.epoch_losses.size(); ++e)
    EXPECT_NEAR(graph.epoch_losses[e], eager.epoch_losses[e],
                1e-4 * std::abs(eager.epoch_losses[e]))
        << "epoch " << e + 1;
  for (size_t k = 0; k < eager.parameters.size(); ++k)
    EXPECT_TRUE(torch::allclose(graph.parameters[k], eager.parameters[k], 1e-3, 1e-5))
        << "parameter " << k;
}

INSTANTIATE_TEST_SUITE_P(
    StepGraph, ReplayedSteps,
    ::testing::Values(
        CapturedModel{"mf", {{"dim", 16}}, CudaGraphMode::kOn},
        CapturedModel{"uiprotomf",
                      {{"dim", 16}, {"k_user", 4}, {"k_item", 4}, {"ortho_weight", 0.1}},
                      CudaGraphMode::kTry},
        CapturedModel{"uprotomf", {{"dim", 16}}, CudaGraphMode::kTry},
        CapturedModel{"acf", {{"dim", 16}, {"anchors", 8}}, CudaGraphMode::kTry},
        CapturedModel{"lightgcn", {{"dim", 16}, {"layers", 2}}, CudaGraphMode::kTry},
        CapturedModel{"multi-interest", {{"dim", 16}, {"interests", 4}}, CudaGraphMode::kTry}),
    [](const ::testing::TestParamInfo<CapturedModel>& info) {
      std::string name = info.param.name + "_cuda";  // "cuda" selects it in scripts/gpu_run.sh
      std::replace(name.begin(), name.end(), '-', '_');
      return name;
    });

// CUDA: a model whose step has not been shown to replay trains eagerly under auto, saying why.
TEST(StepGraph, AutoSaysWhyAModelIsNotCaptured) {
  const torch::Device device(torch::kCUDA);
  POLYPHONY_SKIP_WITHOUT(device);
  const auto data = testing::random_interactions(kUsers, kItems, 20);
  const Interactions train = data.to(device);
  const UserItemIndex index(train, kUsers, kItems);
  const auto sampler = NegativeSampler::uniform(index);
  auto model = make_model("uiprotomf", {kUsers, kItems, data.users, data.items}, {{"dim", 8}});
  model->to(device);
  TrainerOptions options;
  options.epochs = 1;
  options.batch_size = 64;
  options.eval_every = 0;
  std::vector<std::string> log;
  TrainerHooks hooks;
  hooks.log = [&](const std::string& line) { log.push_back(line); };
  Trainer(*model, train, sampler, options, hooks).fit();
  ASSERT_FALSE(log.empty());
  EXPECT_NE(log.front().find("CUDA graph: off (model uiprotomf: its step has not yet been shown"),
            std::string::npos)
      << log.front();
}

}  // namespace
}  // namespace polyphony
