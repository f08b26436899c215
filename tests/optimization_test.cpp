// Learning-rate schedules, gradient clipping against PyTorch's definition, and the optimisers.

#include <torch/optim.h>

#include <cmath>

#include "engine/optimization.h"
#include "tests/test_support.h"

namespace polyphony {
namespace {

using testing::error_of;

TEST(Schedule, WarmUpThenConstant) {
  const auto s = parse_schedule("constant", 4);
  const double expected[] = {0.25, 0.5, 0.75, 1.0, 1.0, 1.0};
  for (int64_t step = 0; step < 6; ++step)
    EXPECT_DOUBLE_EQ(s.factor(step, 10, 100), expected[step]) << step;
}

TEST(Schedule, StepDecaysEveryFewEpochs) {
  const auto s = parse_schedule("step:2:0.5", 0);
  EXPECT_EQ(s.spec(), "step:2:0.5");
  EXPECT_DOUBLE_EQ(s.factor(0, 10, 100), 1.0);
  EXPECT_DOUBLE_EQ(s.factor(19, 10, 100), 1.0);   // epoch 1
  EXPECT_DOUBLE_EQ(s.factor(20, 10, 100), 0.5);   // epoch 2
  EXPECT_DOUBLE_EQ(s.factor(45, 10, 100), 0.25);  // epoch 4
}

TEST(Schedule, CosineAnnealsToZeroAfterWarmUp) {
  const auto s = parse_schedule("cosine", 10);
  EXPECT_DOUBLE_EQ(s.factor(0, 10, 110), 0.1);
  EXPECT_DOUBLE_EQ(s.factor(10, 10, 110), 1.0);
  EXPECT_NEAR(s.factor(60, 10, 110), 0.5, 1e-12);
  EXPECT_NEAR(s.factor(110, 10, 110), 0.0, 1e-12);
  for (int64_t step = 10; step < 110; ++step)
    EXPECT_LT(s.factor(step + 1, 10, 110), s.factor(step, 10, 110));
}

TEST(Schedule, BadSpecificationsNameTheOption) {
  for (const char* bad : {"linear", "step:0:0.5", "step:2", "step:2:-1", "step:x:0.5"})
    EXPECT_CONTAINS(error_of([&] { parse_schedule(bad, 0); }), "--lr-schedule '");
  EXPECT_CONTAINS(error_of([&] { parse_schedule("constant", -1); }), "--warmup-steps");
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
                  "--optimizer: unknown optimiser 'lbfgs'");
}

TEST(Optimizers, SetLearningRateReachesEveryGroup) {
  auto x = torch::zeros({3}, torch::requires_grad());
  auto optimizer = make_optimizer({x}, OptimizerOptions{});
  set_learning_rate(*optimizer, 0.125);
  for (auto& group : optimizer->param_groups()) EXPECT_EQ(group.options().get_lr(), 0.125);
}

}  // namespace
}  // namespace polyphony
