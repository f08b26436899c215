// Learning-rate schedules, gradient clipping against PyTorch's definition, and the optimisers.

#include <torch/optim.h>

#include <cmath>
#include <memory>
#include <sstream>
#include <tuple>

#include "engine/data/data_options.h"
#include "engine/eval/evaluator_options.h"
#include "engine/train/fused_adam.h"
#include "engine/train/optimization.h"
#include "tests/device_cases.h"
#include "tests/test_support.h"

namespace polyphony {
namespace {

using testing::error_of;

LearningRateSchedule schedule(const std::string& text, int64_t warmup_steps) {
  auto s = parse_schedule(text);
  s.warmup_steps = warmup_steps;
  return s;
}

// --embedding-updates auto: dense below kRowSparseFromRows table rows in all, sparse from there;
// the explicit choices stay, and a model without tables stays dense.
TEST(EmbeddingUpdates, AutoChoosesByTheTablesRows) {
  const auto tables = [](int64_t users, int64_t items) {
    return std::vector<at::Tensor>{torch::zeros({users, 2}), torch::zeros({items, 2})};
  };
  const auto updates_named = [](const std::string& name) {
    OptimizerOptions o;
    find_option(optimizer_option_list(), "embedding_updates")->set(o, name);
    return o.embedding_updates;
  };
  const auto auto_updates = updates_named("auto");
  EXPECT_EQ(auto_updates, EmbeddingUpdates::kAuto);
  EXPECT_EQ(OptimizerOptions().embedding_updates, EmbeddingUpdates::kAuto) << "the default";
  EXPECT_EQ(resolve_embedding_updates(auto_updates, tables(6040, 3706)), EmbeddingUpdates::kDense);
  EXPECT_EQ(resolve_embedding_updates(auto_updates, tables(1, kRowSparseFromRows - 2)),
            EmbeddingUpdates::kDense);
  EXPECT_EQ(resolve_embedding_updates(auto_updates, tables(1, kRowSparseFromRows - 1)),
            EmbeddingUpdates::kRowSparse);
  EXPECT_EQ(resolve_embedding_updates(auto_updates, tables(120000, 1000000)),
            EmbeddingUpdates::kRowSparse);
  EXPECT_EQ(resolve_embedding_updates(auto_updates, {}), EmbeddingUpdates::kDense);
  EXPECT_EQ(resolve_embedding_updates(EmbeddingUpdates::kDense, tables(1, 10000000)),
            EmbeddingUpdates::kDense);
  EXPECT_EQ(resolve_embedding_updates(EmbeddingUpdates::kRowSparse, tables(10, 10)),
            EmbeddingUpdates::kRowSparse);
  for (const char* name : {"auto", "dense", "sparse"})
    EXPECT_EQ(std::string(embedding_updates_name(updates_named(name))), name);
}

TEST(Schedule, WarmUpThenConstant) {
  const auto s = schedule("constant", 4);
  const double expected[] = {0.25, 0.5, 0.75, 1.0, 1.0, 1.0};
  for (int64_t step = 0; step < 6; ++step)
    EXPECT_DOUBLE_EQ(s.factor(step, 10, 100), expected[step]) << step;
}

TEST(Schedule, StepDecaysEveryFewEpochs) {
  const auto s = schedule("step:2:0.5", 0);
  EXPECT_EQ(s.spec(), "step:2:0.5");
  EXPECT_DOUBLE_EQ(s.factor(0, 10, 100), 1.0);
  EXPECT_DOUBLE_EQ(s.factor(19, 10, 100), 1.0);   // epoch 1
  EXPECT_DOUBLE_EQ(s.factor(20, 10, 100), 0.5);   // epoch 2
  EXPECT_DOUBLE_EQ(s.factor(45, 10, 100), 0.25);  // epoch 4
}

TEST(Schedule, CosineAnnealsToZeroAfterWarmUp) {
  const auto s = schedule("cosine", 10);
  EXPECT_DOUBLE_EQ(s.factor(0, 10, 110), 0.1);
  EXPECT_DOUBLE_EQ(s.factor(10, 10, 110), 1.0);
  EXPECT_NEAR(s.factor(60, 10, 110), 0.5, 1e-12);
  EXPECT_NEAR(s.factor(110, 10, 110), 0.0, 1e-12);
  for (int64_t step = 10; step < 110; ++step)
    EXPECT_LT(s.factor(step + 1, 10, 110), s.factor(step, 10, 110));
}

// PyTorch's clip_grad_norm_ in double precision: g · min(1, max / (‖g‖ + 1e-6)).
TEST(ClipGradientNorm, MatchesTheDefinition) {
  for (const double max_norm : {0.5, 1e6}) {
    std::vector<at::Tensor> parameters{torch::randn({5, 3}, torch::requires_grad()),
                                       torch::randn({7}, torch::requires_grad())};
    std::vector<at::Tensor> original;
    double squares = 0;
    for (auto& p : parameters) {
      p.mutable_grad() = torch::randn_like(p);
      original.push_back(p.grad().to(torch::kDouble));
      squares += original.back().pow(2).sum().item<double>();
    }
    const double norm = std::sqrt(squares);
    const double scale = std::min(1.0, max_norm / (norm + 1e-6));
    const auto returned = clip_gradient_norm(parameters, max_norm);
    EXPECT_NEAR(returned.item<double>(), norm, 1e-5 * norm);
    for (size_t i = 0; i < parameters.size(); ++i)
      EXPECT_TRUE(
          torch::allclose(parameters[i].grad().to(torch::kDouble), original[i] * scale, 1e-6, 1e-6))
          << "max_norm " << max_norm;
  }
}

TEST(Optimizers, EachMinimisesAQuadratic) {
  for (const std::string name : {"adam", "adamw", "adagrad", "sgd"}) {
    auto target = torch::randn({10});
    auto x = torch::zeros({10}, torch::requires_grad());
    OptimizerOptions options;
    options.name = name;
    // Adagrad's steps shrink as 1/√t: it needs a larger rate to cover the same distance.
    options.lr = name == "sgd" ? 0.05 : name == "adagrad" ? 1.0 : 0.1;
    auto optimizer = make_optimizer({x}, options);
    const double before = (x - target).pow(2).sum().item<double>();
    for (int step = 0; step < 500; ++step) {
      optimizer->zero_grad();
      (x - target).pow(2).sum().backward();
      optimizer->step();
    }
    EXPECT_LT((x - target).pow(2).sum().item<double>(), 1e-2 * before) << name;
  }
  OptimizerOptions unknown;
  unknown.name = "lbfgs";
  EXPECT_CONTAINS(error_of([&] { make_optimizer({torch::zeros({1})}, unknown); }),
                  "`optimizer` 'lbfgs': expected adam, adamw, adagrad or sgd");
}

TEST(Optimizers, SetLearningRateReachesEveryGroup) {
  auto x = torch::zeros({3}, torch::requires_grad());
  auto optimizer = make_optimizer({x}, OptimizerOptions{});
  set_learning_rate(*optimizer, 0.125);
  for (auto& group : optimizer->param_groups()) EXPECT_EQ(group.options().get_lr(), 0.125);
}

// Adam and AdamW as the trainer builds them (one fused operator per step) against torch::optim's
// own per-parameter loop in double precision, on fresh random parameters and gradients: weight
// decay on, sizes that are not multiples of a vector width, and one parameter without a gradient
// in one step (it is left alone and its step count lags, as in torch::optim).
class FusedAdamParity : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {};

std::unique_ptr<torch::optim::Optimizer> reference_optimizer(const std::string& name,
                                                             const std::vector<at::Tensor>& x,
                                                             double lr, double weight_decay) {
  namespace optim = torch::optim;
  if (name == "adam")
    return std::make_unique<optim::Adam>(x, optim::AdamOptions(lr).weight_decay(weight_decay));
  return std::make_unique<optim::AdamW>(x, optim::AdamWOptions(lr).weight_decay(weight_decay));
}

std::vector<at::Tensor> copies(const std::vector<at::Tensor>& tensors, torch::Device device) {
  std::vector<at::Tensor> out;
  for (const auto& t : tensors)
    out.push_back(t.detach().to(device, torch::kFloat).clone().requires_grad_());
  return out;
}

TEST_P(FusedAdamParity, MatchesTorchOptimInDoublePrecision) {
  const auto& [name, device_name] = GetParam();
  const torch::Device device(device_name);
  POLYPHONY_SKIP_WITHOUT(device);
  std::vector<at::Tensor> reference;
  for (const auto& shape : std::vector<std::vector<int64_t>>{{37, 5}, {11}, {3, 7, 2}})
    reference.push_back(torch::randn(shape, torch::kDouble).requires_grad_());
  auto fused = copies(reference, device);

  OptimizerOptions options;
  options.name = name;
  options.lr = 0.01;
  options.weight_decay = 0.05;
  auto optimizer = make_optimizer(fused, options);
  ASSERT_TRUE(dynamic_cast<FusedAdam*>(optimizer.get()) ||
              dynamic_cast<FusedAdamW*>(optimizer.get()));
  auto expected = reference_optimizer(name, reference, options.lr, options.weight_decay);

  for (int step = 0; step < 6; ++step) {
    optimizer->zero_grad();
    expected->zero_grad();
    for (size_t i = 0; i < reference.size(); ++i) {
      if (step == 2 && i == 1) continue;
      const auto grad = torch::randn_like(reference[i]);
      reference[i].mutable_grad() = grad;
      fused[i].mutable_grad() = grad.to(device, torch::kFloat);
    }
    optimizer->step();
    expected->step();
    for (size_t i = 0; i < reference.size(); ++i)
      EXPECT_TRUE(
          torch::allclose(fused[i].detach().cpu().to(torch::kDouble), reference[i], 1e-5, 1e-6))
          << name << " step " << step << " parameter " << i << ": max difference "
          << (fused[i].detach().cpu().to(torch::kDouble) - reference[i]).abs().max().item<double>();
  }
}

// Exact resume: the state saved after some steps, loaded into a fresh optimiser over copies of
// the parameters, continues bit for bit like the optimiser that was never stopped. The state is
// torch::optim's, so torch::optim::Adam reads it too.
TEST_P(FusedAdamParity, SavedStateContinuesBitForBit) {
  const auto& [name, device_name] = GetParam();
  const torch::Device device(device_name);
  POLYPHONY_SKIP_WITHOUT(device);
  auto running = copies({torch::randn({29, 3}), torch::randn({13})}, device);
  OptimizerOptions options;
  options.name = name;
  options.weight_decay = 0.01;
  auto optimizer = make_optimizer(running, options);
  auto set_gradients = [&](std::vector<at::Tensor>& x, const std::vector<at::Tensor>& g) {
    for (size_t i = 0; i < x.size(); ++i) x[i].mutable_grad() = g[i].clone();
  };
  auto random_gradients = [&] {
    std::vector<at::Tensor> g;
    for (const auto& p : running) g.push_back(torch::randn_like(p));
    return g;
  };
  for (int step = 0; step < 3; ++step) {
    set_gradients(running, random_gradients());
    optimizer->step();
  }
  torch::serialize::OutputArchive saved;
  optimizer->save(saved);
  std::stringstream bytes;
  saved.save_to(bytes);

  auto load_into = [&](torch::optim::Optimizer& target) {
    bytes.seekg(0);
    torch::serialize::InputArchive loaded;
    loaded.load_from(bytes);
    target.load(loaded);
  };
  auto resumed = copies(running, device);
  auto restarted = make_optimizer(resumed, options);
  load_into(*restarted);
  auto plain_parameters = copies(running, device);
  auto plain = reference_optimizer(name, plain_parameters, options.lr, options.weight_decay);
  load_into(*plain);
  for (int step = 0; step < 3; ++step) {
    const auto g = random_gradients();
    set_gradients(running, g);
    set_gradients(resumed, g);
    set_gradients(plain_parameters, g);
    optimizer->step();
    restarted->step();
    plain->step();
    for (size_t i = 0; i < running.size(); ++i) {
      EXPECT_TRUE(torch::equal(running[i], resumed[i])) << name << " step " << step;
      EXPECT_TRUE(torch::allclose(running[i], plain_parameters[i], 1e-5, 1e-6))
          << name << " step " << step;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Optimizers, FusedAdamParity,
                         ::testing::Combine(::testing::Values("adam", "adamw"),
                                            ::testing::ValuesIn(testing::test_devices())),
                         [](const auto& info) {
                           return std::get<0>(info.param) + "_" + std::get<1>(info.param);
                         });

}  // namespace
}  // namespace polyphony
