// The training step captured as a CUDA graph (--cuda-graph): refused or explained where it
// cannot be captured, and on CUDA the same training as eager steps, through an epoch's shorter
// last batch, a new epoch's order, a schedule's learning rates and a resume.

#include <gtest/gtest.h>
#include <torch/torch.h>

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

// MF trained from `seed` on `device` with `mode`: 200 interactions of about 550 per epoch in
// batches of 64 (eight full steps and a shorter one), a cosine schedule.
GraphRun train_mf(const Interactions& data, const torch::Device& device, CudaGraphMode mode,
                  uint64_t seed, int64_t epochs = 3) {
  const Interactions train = data.to(device);
  const UserItemIndex index(train, kUsers, kItems);
  const auto sampler = NegativeSampler::uniform(index);
  torch::manual_seed(seed);
  auto model = make_model("mf", {kUsers, kItems, data.users, data.items}, {{"dim", 16}});
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
      testing::error_of([&] { train_mf(data, torch::kCPU, CudaGraphMode::kOn, 1); });
  EXPECT_NE(message.find("`cuda_graph` on: training runs on cpu"), std::string::npos) << message;
}

TEST(StepGraph, AutoTrainsEagerlyOnTheCpuAsOffDoes) {
  const auto data = testing::random_interactions(kUsers, kItems, 20);
  const auto automatic = train_mf(data, torch::kCPU, CudaGraphMode::kAuto, 3);
  const auto off = train_mf(data, torch::kCPU, CudaGraphMode::kOff, 3);
  EXPECT_EQ(automatic.epoch_losses, off.epoch_losses);
  for (size_t k = 0; k < off.parameters.size(); ++k)
    EXPECT_TRUE(torch::equal(automatic.parameters[k], off.parameters[k]));
  EXPECT_FALSE(logged(automatic, "CUDA graph"));  // nothing to say about graphs on the CPU
}

TEST(StepGraph, ModesParseAndPrint) {
  for (const auto mode : {CudaGraphMode::kAuto, CudaGraphMode::kOn, CudaGraphMode::kOff})
    EXPECT_EQ(parse_cuda_graph_mode(cuda_graph_mode_name(mode)), mode);
  EXPECT_FALSE(parse_cuda_graph_mode("yes").has_value());
}

// CUDA: replayed steps train as eager ones. The dense gradients of the gathered loss are summed
// with atomics, so the runs agree to rounding, not bit for bit.
TEST(StepGraph, ReplayedStepsTrainAsEagerSteps) {
  const torch::Device device(torch::kCUDA);
  POLYPHONY_SKIP_WITHOUT(device);
  const auto data = testing::random_interactions(kUsers, kItems, 20);
  const auto graph = train_mf(data, device, CudaGraphMode::kOn, 7);
  const auto eager = train_mf(data, device, CudaGraphMode::kOff, 7);
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

// CUDA: a model whose step is not known to be capturable trains eagerly under auto, saying why.
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
  EXPECT_NE(log.front().find("CUDA graph: off (model uiprotomf:"), std::string::npos)
      << log.front();
}

}  // namespace
}  // namespace polyphony
