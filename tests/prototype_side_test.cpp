// The prototype side (one autograd node) on every kernel target against its plain operators in
// double precision: the top-k filter's dense form, the projection and their concatenation, values
// and the gradients of both outputs with respect to entities, prototypes and projection, on fresh
// random inputs; both layouts, with and without projection, filtered and not (on the CPU
// unfiltered similarities are a product of unit rows), an entity of norm below the clamp.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>

#include "device_cases.h"
#include "kernels/prototype_side.h"
#include "kernels/topk_prototype_filter.h"

namespace polyphony {
namespace {

class PrototypeSideParity : public ::testing::TestWithParam<std::string> {};

// The plain formulation: what ProtoMF composed before the side was one node.
at::Tensor reference_factor(const at::Tensor& e, const at::Tensor& p, const at::Tensor& w,
                            int64_t k, PrototypeSideLayout layout) {
  const auto s = topk_prototype_filter_dense(e, p, k);
  if (!w.defined()) return s;
  const auto projected = e.mm(w.t());
  return layout == PrototypeSideLayout::kSimilaritiesFirst ? torch::cat({s, projected}, 1)
                                                           : torch::cat({projected, s}, 1);
}

TEST_P(PrototypeSideParity, MatchesThePlainOperatorsInDouble) {
  POLYPHONY_KERNEL_TARGET(target, GetParam());
  struct Case {
    int64_t n, d, prototypes, projected, k;
  };
  // UI-ProtoMF's reference widths, a one-row batch, k = 1, k = L - 1, no filter (k -1 and L).
  const Case cases[] = {{300, 81, 43, 71, 25}, {1, 5, 4, 3, 1},   {40, 17, 9, 6, 8},
                        {25, 8, 12, 0, 5},     {30, 6, 7, 4, -1}, {12, 6, 7, 0, 7}};
  for (const auto dtype : {torch::kFloat, torch::kDouble}) {
    if (target.device.is_cuda() && dtype == torch::kDouble) continue;
    const auto options = torch::dtype(dtype).device(target.device);
    for (const auto layout :
         {PrototypeSideLayout::kSimilaritiesFirst, PrototypeSideLayout::kProjectionFirst}) {
      for (const auto& c : cases) {
        auto e = torch::randn({c.n, c.d}, options);
        // An entity whose norm is below the clamp (1e-8): scaled by 1/1e-8 instead of 1/‖e‖.
        if (c.n > 1) e[1] *= 1e-10;
        e.requires_grad_();
        auto p = torch::randn({c.prototypes, c.d}, options).requires_grad_();
        auto w = c.projected > 0 ? torch::randn({c.projected, c.d}, options).requires_grad_()
                                 : at::Tensor();
        const auto side = prototype_side(e, p, w, c.k, layout);
        // Random weights on both outputs, so each reaches every input.
        const auto weights = torch::randn(side.factor.sizes(), torch::kDouble);
        const auto sim_weights = torch::randn(side.similarities.sizes(), torch::kDouble);
        ((side.factor * weights.to(options)).sum() +
         (side.similarities * sim_weights.to(options)).sum())
            .backward();

        auto to_double = [](const at::Tensor& t) {
          return t.defined() ? t.detach().cpu().to(torch::kDouble).requires_grad_() : t;
        };
        auto re = to_double(e), rp = to_double(p), rw = to_double(w);
        const auto factor = reference_factor(re, rp, rw, c.k, layout);
        const auto sims = topk_prototype_filter_dense(re, rp, c.k);
        ((factor * weights).sum() + (sims * sim_weights).sum()).backward();

        const double tolerance = dtype == torch::kFloat ? 2e-4 : 1e-10;
        const std::string what =
            "n " + std::to_string(c.n) + " d " + std::to_string(c.d) + " L " +
            std::to_string(c.prototypes) + " F " + std::to_string(c.projected) + " k " +
            std::to_string(c.k) +
            (layout == PrototypeSideLayout::kSimilaritiesFirst ? " similarities first "
                                                               : " projection first ") +
            std::string(c10::toString(dtype));
        auto near = [&](const at::Tensor& got, const at::Tensor& want) {
          return torch::allclose(got.detach().cpu().to(torch::kDouble), want.detach(), tolerance,
                                 tolerance);
        };
        EXPECT_TRUE(near(side.factor, factor)) << what << " factor";
        EXPECT_TRUE(near(side.similarities, sims)) << what << " similarities";
        // The entity under the clamp has a gradient of order 1e8 whose entries are differences
        // of such terms: single precision holds each entry to its row's scale, not its own.
        auto near_by_row = [&](const at::Tensor& got, const at::Tensor& want) {
          const auto scale = want.detach().abs().amax(1, true) + 1;
          return ((got.detach().cpu().to(torch::kDouble) - want.detach()).abs() <=
                  tolerance * scale)
              .all()
              .item<bool>();
        };
        EXPECT_TRUE(near_by_row(e.grad(), re.grad())) << what << " entities' gradient";
        EXPECT_TRUE(near(p.grad(), rp.grad())) << what << " prototypes' gradient";
        if (w.defined()) {
          EXPECT_TRUE(near(w.grad(), rw.grad())) << what << " projection's gradient";
        }
      }
    }
  }
}

// Only the factor used (no regulariser on the similarities), or only the similarities.
TEST_P(PrototypeSideParity, EitherOutputAloneCarriesItsGradient) {
  POLYPHONY_KERNEL_TARGET(target, GetParam());
  const auto options = torch::dtype(torch::kFloat).device(target.device);
  for (const bool factor_only : {true, false}) {
    auto e = torch::randn({20, 6}, options).requires_grad_();
    auto p = torch::randn({5, 6}, options).requires_grad_();
    auto w = torch::randn({4, 6}, options).requires_grad_();
    const auto side = prototype_side(e, p, w, 3, PrototypeSideLayout::kProjectionFirst);
    (factor_only ? side.factor : side.similarities).pow(2).sum().backward();
    auto re = e.detach().cpu().to(torch::kDouble).requires_grad_();
    auto rp = p.detach().cpu().to(torch::kDouble).requires_grad_();
    auto rw = w.detach().cpu().to(torch::kDouble).requires_grad_();
    const auto sims = topk_prototype_filter_dense(re, rp, 3);
    (factor_only ? torch::cat({re.mm(rw.t()), sims}, 1) : sims).pow(2).sum().backward();
    EXPECT_TRUE(torch::allclose(e.grad().cpu().to(torch::kDouble), re.grad(), 1e-4, 1e-5));
    EXPECT_TRUE(torch::allclose(p.grad().cpu().to(torch::kDouble), rp.grad(), 1e-4, 1e-5));
    // Without the factor, the projection takes no part: a zero gradient.
    const auto expected_w = rw.grad().defined() ? rw.grad() : torch::zeros_like(rw);
    EXPECT_TRUE(torch::allclose(w.grad().cpu().to(torch::kDouble), expected_w, 1e-4, 1e-5))
        << (factor_only ? "factor only" : "similarities only");
  }
}

TEST_P(PrototypeSideParity, RefusesMismatchedInputs) {
  POLYPHONY_KERNEL_TARGET(target, GetParam());
  const auto options = torch::dtype(torch::kFloat).device(target.device);
  const auto e = torch::randn({4, 6}, options), p = torch::randn({5, 6}, options);
  const auto w = torch::randn({3, 6}, options);
  const auto layout = PrototypeSideLayout::kSimilaritiesFirst;
  EXPECT_THROW(prototype_side(e, torch::randn({5, 7}, options), w, 2, layout), c10::Error);
  EXPECT_THROW(prototype_side(e, torch::randn({0, 6}, options), w, 2, layout), c10::Error);
  EXPECT_THROW(prototype_side(e, p, torch::randn({3, 7}, options), 2, layout), c10::Error);
  EXPECT_THROW(prototype_side(e.view({24}), p, w, 2, layout), c10::Error);
  EXPECT_THROW(prototype_side(e, p.to(torch::kDouble), w, -1, layout), c10::Error);
}

INSTANTIATE_TEST_SUITE_P(Targets, PrototypeSideParity,
                         ::testing::ValuesIn(testing::kernel_test_targets()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace polyphony
