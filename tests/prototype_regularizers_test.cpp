// ProtoMF's regularisers as one autograd node each (max-similarity pair, distributing regulariser)
// against their plain operators in double precision, on fresh random inputs: values and
// gradients, with and without slot counts, both forms, a prototype of norm below the clamp, and
// similarity rows with exact zeros (the filter's) on the CPU and CUDA.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>

#include "device_cases.h"
#include "kernels/prototype_regularizers.h"

namespace polyphony {
namespace {

class PrototypeRegularizerParity : public ::testing::TestWithParam<std::string> {};

at::Tensor in_double(const at::Tensor& t) { return t.detach().cpu().to(torch::kDouble).clone(); }

TEST_P(PrototypeRegularizerParity, MaxSimilarityTermsMatchThePlainOperators) {
  const torch::Device device(GetParam());
  POLYPHONY_SKIP_WITHOUT(device);
  for (const auto dtype : {torch::kFloat, torch::kDouble}) {
    const auto options = torch::dtype(dtype).device(device);
    const double tolerance = dtype == torch::kFloat ? 1e-5 : 1e-12;
    for (const bool counted : {false, true}) {
      for (const auto& [n, l] : {std::pair<int64_t, int64_t>{1, 1}, {7, 5}, {300, 43}}) {
        // Shifted cosines in [0, 2] with a third of them dropped to 0 as the filter does.
        auto base = torch::rand({n, l}, torch::kDouble) * 2;
        base = base * (torch::rand({n, l}, torch::kDouble) > 0.33).to(torch::kDouble);
        auto s = base.to(options).clone().requires_grad_();
        const auto counts =
            counted ? torch::randint(1, 6, {n}, torch::dtype(torch::kLong).device(device))
                    : at::Tensor();
        const double wp = 0.3 + torch::rand({}).item<double>(), wb = torch::rand({}).item<double>();
        const auto terms = max_similarity_terms(s, counts, wp, wb);
        const double gp = torch::randn({}).item<double>(), gb = torch::randn({}).item<double>();
        (terms.prototypes_to_batch * gp + terms.batch_to_prototypes * gb).backward();

        auto rs = in_double(s).requires_grad_();  // the values the kernel read
        const auto rc = counted ? counts.cpu() : at::Tensor();
        const auto to_batch = wp * prototypes_to_batch_loss(rs);
        const auto to_prototypes = wb * batch_to_prototypes_loss(rs, rc);
        (to_batch * gp + to_prototypes * gb).backward();
        const std::string what = std::to_string(n) + "x" + std::to_string(l) +
                                 (counted ? " counted " : " ") + c10::toString(dtype);
        EXPECT_NEAR(terms.prototypes_to_batch.item<double>(), to_batch.item<double>(), tolerance)
            << what;
        EXPECT_NEAR(terms.batch_to_prototypes.item<double>(), to_prototypes.item<double>(),
                    tolerance)
            << what;
        EXPECT_TRUE(torch::allclose(in_double(s.grad()), rs.grad(), tolerance, tolerance)) << what;
      }
    }
  }
}

TEST_P(PrototypeRegularizerParity, OrthogonalityTermMatchesThePlainOperators) {
  const torch::Device device(GetParam());
  POLYPHONY_SKIP_WITHOUT(device);
  for (const auto dtype : {torch::kFloat, torch::kDouble}) {
    const auto options = torch::dtype(dtype).device(device);
    const double tolerance = dtype == torch::kFloat ? 1e-4 : 1e-10;
    for (const auto form : {OrthoForm::kDefault, OrthoForm::kOfficial}) {
      for (const auto& [l, d] : {std::pair<int64_t, int64_t>{1, 3}, {4, 9}, {43, 81}, {71, 81}}) {
        auto base = torch::randn({l, d}, torch::kDouble);
        // A prototype whose norm is below the clamp (1e-8): scaled by 1/1e-8 instead of 1/‖p‖.
        if (l > 2) base[1] *= 1e-10;
        auto p = base.to(options).clone().requires_grad_();
        const double weight = 0.1 + torch::rand({}).item<double>();
        const auto term = orthogonality_term(p, form, weight);
        const double g = torch::randn({}).item<double>();
        (term * g).backward();
        auto rp = in_double(p).requires_grad_();  // the values the kernel read
        const auto expected = weight * orthogonality_loss(rp, form);
        (expected * g).backward();
        const std::string what = std::to_string(l) + "x" + std::to_string(d) +
                                 (form == OrthoForm::kOfficial ? " official " : " default ") +
                                 c10::toString(dtype);
        EXPECT_NEAR(term.item<double>(), expected.item<double>(),
                    tolerance * std::max(1.0, std::abs(expected.item<double>())))
            << what;
        // The tiny prototype's gradient is ~1e8 larger than the others': relative tolerance.
        EXPECT_TRUE(torch::allclose(in_double(p.grad()), rp.grad(), tolerance, tolerance)) << what;
      }
    }
  }
}

TEST_P(PrototypeRegularizerParity, RefusesWhatIsNotAMatrix) {
  const torch::Device device(GetParam());
  POLYPHONY_SKIP_WITHOUT(device);
  const auto options = torch::dtype(torch::kFloat).device(device);
  EXPECT_THROW(max_similarity_terms(torch::rand({0, 3}, options), {}, 1, 1), c10::Error);
  EXPECT_THROW(max_similarity_terms(torch::rand({4}, options), {}, 1, 1), c10::Error);
  EXPECT_THROW(max_similarity_terms(torch::rand({4, 3}, options),
                                    torch::ones({3}, options.dtype(torch::kLong)), 1, 1),
               c10::Error);
  EXPECT_THROW(orthogonality_term(torch::rand({0, 3}, options), OrthoForm::kDefault, 1),
               c10::Error);
}

INSTANTIATE_TEST_SUITE_P(Devices, PrototypeRegularizerParity,
                         ::testing::ValuesIn(testing::test_devices()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace polyphony
