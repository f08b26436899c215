// One parity suite for the top-k prototype filter on every device, against a double-precision
// reference in plain torch ops (normalise, matmul, stable sort), on fresh random inputs.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <tuple>
#include <utility>

#include "device_cases.h"
#include "kernels/topk_prototype_filter.h"

namespace polyphony {
namespace {

struct Case {
  int64_t rows, prototypes, dim, k;
};

// Sizes not multiples of 32, k = 1 and k = L, N = 0, one row, several prototype chunks, and k in
// each of the CUDA forward's list capacities (≤ 4, 8, 16, 32 in registers, more in shared memory).
const Case kCases[] = {{0, 7, 5, 3},       {1, 1, 1, 1},       {37, 45, 33, 1},
                       {37, 45, 33, 45},   {129, 70, 17, 12},  {300, 128, 64, 32},
                       {65, 300, 129, 25}, {50, 1024, 96, 40}, {200, 50, 24, 7},
                       {600, 90, 20, 17}};

// Reference in double: similarities [N, L] and the kept indices in descending order (a stable
// sort keeps the lower index first among equal values).
std::tuple<at::Tensor, at::Tensor> reference(const at::Tensor& e, const at::Tensor& p, int64_t k) {
  auto ed = e.to(torch::kCPU, torch::kDouble), pd = p.to(torch::kCPU, torch::kDouble);
  auto en = ed / ed.norm(2, {1}, true).clamp_min(1e-8);
  auto pn = pd / pd.norm(2, {1}, true).clamp_min(1e-8);
  auto sims = 1.0 + en.mm(pn.t());
  auto order = std::get<1>(sims.sort(/*stable=*/true, 1, /*descending=*/true));
  return {sims, order.narrow(1, 0, k)};
}

class TopkFilterParity : public ::testing::TestWithParam<std::string> {};

TEST_P(TopkFilterParity, ForwardMatchesReferenceOnPoisonedOutputs) {
  POLYPHONY_KERNEL_TARGET(target, GetParam());
  const torch::Device device = target.device;
  for (const auto& c : kCases) {
    auto e = torch::randn({c.rows, c.dim}, torch::dtype(torch::kFloat).device(device));
    auto p = torch::randn({c.prototypes, c.dim}, torch::dtype(torch::kFloat).device(device));
    auto values = torch::full({c.rows, c.k}, NAN, e.options());
    auto indices = torch::full({c.rows, c.k}, -7, e.options().dtype(torch::kLong));
    topk_prototype_filter_forward_into(e, p, c.k, values, indices);
    auto [sims, ref_indices] = reference(e, p, c.k);
    values = values.cpu().to(torch::kDouble);
    indices = indices.cpu();
    const std::string where = "N=" + std::to_string(c.rows) + " L=" + std::to_string(c.prototypes) +
                              " d=" + std::to_string(c.dim) + " k=" + std::to_string(c.k);
    ASSERT_FALSE(values.isnan().any().item<bool>()) << "unwritten values, " << where;
    ASSERT_TRUE((indices >= 0).all().item<bool>() && (indices < c.prototypes).all().item<bool>())
        << "unwritten or invalid indices, " << where;
    if (c.rows == 0) continue;
    // Each kept value is the similarity of its prototype, and the kept values are the k largest
    // (compared by value, so near-ties in float32 may pick either prototype).
    EXPECT_TRUE(torch::allclose(values, sims.gather(1, indices), 1e-5, 1e-5)) << where;
    EXPECT_TRUE(torch::allclose(values, sims.gather(1, ref_indices), 1e-5, 1e-5)) << where;
    EXPECT_TRUE((std::get<0>(indices.sort(1)).diff(1, 1) > 0).all().item<bool>())
        << "a prototype kept twice, " << where;
  }
}

TEST_P(TopkFilterParity, TiesGoToTheLowerPrototypeIndex) {
  POLYPHONY_KERNEL_TARGET(target, GetParam());
  const torch::Device device = target.device;
  // Prototypes repeated three times: l, l + 5 and l + 10 are equal, so their similarities are
  // equal bit for bit and the kept order within a group must be l, l + 5, l + 10.
  auto base = torch::randn({5, 11});
  auto p = torch::cat({base, base, base}).to(device);
  auto e = torch::randn({23, 11}).to(device);
  auto kept = topk_prototype_filter(e, p, 7);
  auto unique_order = std::get<1>(reference(e, base.to(device), 5));  // [23, 5]
  auto expected = torch::stack({unique_order, unique_order + 5, unique_order + 10}, 2)
                      .reshape({23, 15})
                      .narrow(1, 0, 7);
  EXPECT_TRUE(torch::equal(kept.indices.cpu(), expected)) << kept.indices << expected;
}

// KeptOrder::kAny (the dense form's) keeps exactly the entries of the filter's order, bit for bit,
// for both types: random rows, repeated prototypes (equal similarities), a zero row (every
// similarity 1, so the k lowest indices) and a NaN row.
TEST_P(TopkFilterParity, AnyOrderKeepsTheSameEntriesAsTheFiltersOrder) {
  POLYPHONY_KERNEL_TARGET(target, GetParam());
  const torch::Device device = target.device;
  const auto by_index = [](const at::Tensor& values, const at::Tensor& indices) {
    const auto order = std::get<1>(indices.sort(1));
    return std::pair{values.gather(1, order).cpu(), indices.gather(1, order).cpu()};
  };
  for (const auto dtype : {torch::kFloat, torch::kDouble}) {
    if (device.is_cuda() && dtype == torch::kDouble) continue;
    const auto options = torch::dtype(dtype).device(device);
    for (const auto& c : kCases) {
      auto e = torch::randn({c.rows, c.dim}, options);
      auto base = torch::randn({(c.prototypes + 1) / 2, c.dim}, options);
      auto p = torch::cat({base, base}).narrow(0, 0, c.prototypes).contiguous();
      if (c.rows > 2) {
        e[0].zero_();
        e[1][0] = NAN;
      }
      const auto sorted = topk_prototype_filter(e, p, c.k);
      const auto any = topk_prototype_filter(e, p, c.k, kernels::KeptOrder::kAny);
      const auto [sorted_values, sorted_indices] = by_index(sorted.values, sorted.indices);
      const auto [any_values, any_indices] = by_index(any.values, any.indices);
      const std::string where = "N=" + std::to_string(c.rows) +
                                " L=" + std::to_string(c.prototypes) + " k=" + std::to_string(c.k);
      EXPECT_TRUE(torch::equal(any_indices, sorted_indices)) << where << " " << dtype;
      EXPECT_TRUE(torch::equal(any_values.nan_to_num(-7), sorted_values.nan_to_num(-7)))
          << where << " " << dtype;
    }
  }
}

TEST_P(TopkFilterParity, DenseFormKeepsKPerRowAndZerosTheRest) {
  POLYPHONY_KERNEL_TARGET(target, GetParam());
  const torch::Device device = target.device;
  auto e = torch::randn({31, 19}).to(device);
  auto p = torch::randn({13, 19}).to(device);
  auto dense = topk_prototype_filter_dense(e, p, 4).cpu();
  EXPECT_TRUE(((dense != 0).sum(1) == 4).all().item<bool>());
  auto [sims, ref_indices] = reference(e, p, 4);
  auto mask = torch::zeros_like(sims).scatter(1, ref_indices, 1.0);
  EXPECT_TRUE(torch::allclose(dense.to(torch::kDouble), sims * mask, 1e-5, 1e-5));
  // k off: the plain shifted cosine.
  EXPECT_TRUE(torch::allclose(topk_prototype_filter_dense(e, p, -1).cpu().to(torch::kDouble), sims,
                              1e-5, 1e-5));
}

TEST_P(TopkFilterParity, GradientsMatchTheReferenceThroughKeptEntries) {
  POLYPHONY_KERNEL_TARGET(target, GetParam());
  const torch::Device device = target.device;
  // 2500 rows: the CPU path sums the prototype gradient in several row chunks.
  for (const auto& c :
       {Case{41, 37, 23, 5}, Case{64, 128, 64, 16}, Case{3, 9, 4, 9}, Case{2500, 70, 17, 12}}) {
    auto e = torch::randn({c.rows, c.dim}).to(device).requires_grad_(true);
    auto p = torch::randn({c.prototypes, c.dim}).to(device).requires_grad_(true);
    auto kept = topk_prototype_filter(e, p, c.k);
    auto weights = torch::randn({c.rows, c.k});
    (kept.values * weights.to(device)).sum().backward();
    // Reference: the same kept entries, gathered from plain double ops, through torch autograd.
    auto ed = e.detach().cpu().to(torch::kDouble).requires_grad_(true);
    auto pd = p.detach().cpu().to(torch::kDouble).requires_grad_(true);
    auto sims = 1.0 + (ed / ed.norm(2, {1}, true)).mm((pd / pd.norm(2, {1}, true)).t());
    (sims.gather(1, kept.indices.cpu()) * weights.to(torch::kDouble)).sum().backward();
    EXPECT_TRUE(torch::allclose(e.grad().cpu().to(torch::kDouble), ed.grad(), 1e-4, 1e-5));
    EXPECT_TRUE(torch::allclose(p.grad().cpu().to(torch::kDouble), pd.grad(), 1e-4, 1e-5));
  }
}

// Under --deterministic (at::globalContext's deterministic algorithms) the CUDA backward sums the
// prototype gradient in a fixed order: two backward passes give the same bits, and both match the
// reference. Rows and prototypes are many enough for many blocks and several row tiles each.
TEST_P(TopkFilterParity, DeterministicGradientsAreBitIdenticalAndCorrect) {
  POLYPHONY_KERNEL_TARGET(target, GetParam());
  const torch::Device device = target.device;
  struct DeterministicScope {
    const bool before = at::globalContext().deterministicAlgorithms();
    const bool warn_before = at::globalContext().deterministicAlgorithmsWarnOnly();
    DeterministicScope() { at::globalContext().setDeterministicAlgorithms(true, false); }
    ~DeterministicScope() { at::globalContext().setDeterministicAlgorithms(before, warn_before); }
  } scope;
  for (const auto& c : {Case{20000, 128, 64, 16}, Case{300, 1030, 33, 40}, Case{7, 5, 3, 5}}) {
    auto e = torch::randn({c.rows, c.dim}).to(device);
    auto p = torch::randn({c.prototypes, c.dim}).to(device);
    auto weights = torch::randn({c.rows, c.k}).to(device);
    auto gradients = [&] {
      auto ev = e.clone().requires_grad_(true), pv = p.clone().requires_grad_(true);
      auto kept = topk_prototype_filter(ev, pv, c.k);
      (kept.values * weights).sum().backward();
      return std::tuple{ev.grad().cpu(), pv.grad().cpu(), kept.indices.cpu()};
    };
    const auto [ge1, gp1, kept] = gradients();
    const auto [ge2, gp2, kept2] = gradients();
    const std::string where = "N=" + std::to_string(c.rows) + " L=" + std::to_string(c.prototypes);
    EXPECT_TRUE(torch::equal(ge1, ge2)) << where;
    EXPECT_TRUE(torch::equal(gp1, gp2)) << where;
    auto ed = e.cpu().to(torch::kDouble).requires_grad_(true);
    auto pd = p.cpu().to(torch::kDouble).requires_grad_(true);
    auto sims = 1.0 + (ed / ed.norm(2, {1}, true)).mm((pd / pd.norm(2, {1}, true)).t());
    (sims.gather(1, kept) * weights.cpu().to(torch::kDouble)).sum().backward();
    EXPECT_TRUE(torch::allclose(ge1.to(torch::kDouble), ed.grad(), 1e-4, 1e-5)) << where;
    EXPECT_TRUE(torch::allclose(gp1.to(torch::kDouble), pd.grad(), 1e-4, 1e-4)) << where;
  }
}

// Non-finite input: a NaN or ±Inf in an entity row makes every similarity of the row NaN, a NaN
// in a prototype its whole column. NaN ranks after every number (ties to the lower index), so a
// row keeps its finite similarities first, and every row's indices stay valid and distinct; the
// backward runs, and on CUDA the device is still usable afterwards (no illegal address).
TEST_P(TopkFilterParity, NonFiniteInputKeepsValidDistinctIndices) {
  POLYPHONY_KERNEL_TARGET(target, GetParam());
  const torch::Device device = target.device;
  const int64_t rows = 70, L = 45, dim = 13;
  for (const int64_t k : {int64_t{1}, int64_t{5}, L}) {
    auto e = torch::randn({rows, dim});
    e[3][4] = NAN;
    e[10][0] = INFINITY;
    e[11][12] = -INFINITY;
    e.narrow(0, 20, 2).fill_(NAN);
    auto p = torch::randn({L, dim});
    p[7][2] = NAN;  // column 7 is NaN in every row
    e = e.to(device);
    p = p.to(device);
    auto values = torch::full({rows, k}, 5.0, e.options());
    auto indices = torch::full({rows, k}, -7, e.options().dtype(torch::kLong));
    topk_prototype_filter_forward_into(e, p, k, values, indices);
    values = values.cpu();
    indices = indices.cpu();
    const std::string where = "k=" + std::to_string(k);
    ASSERT_TRUE((indices >= 0).all().item<bool>() && (indices < L).all().item<bool>()) << where;
    ASSERT_TRUE((std::get<0>(indices.sort(1)).diff(1, 1) > 0).all().item<bool>())
        << "a prototype kept twice, " << where;
    // Reference: NaN replaced by a number below every similarity, then a stable descending sort.
    auto [sims, ref_order] = reference(e, p, L);
    auto ranked = torch::where(sims.isnan(), torch::full_like(sims, -1.0), sims);
    auto order = std::get<1>(ranked.sort(/*stable=*/true, 1, /*descending=*/true)).narrow(1, 0, k);
    auto expected = sims.gather(1, order);
    auto got = values.to(torch::kDouble);
    EXPECT_TRUE(torch::equal(got.isnan(), expected.isnan())) << where;
    EXPECT_TRUE(torch::allclose(got.nan_to_num(0), expected.nan_to_num(0), 1e-5, 1e-5)) << where;
    // All-NaN rows keep prototypes 0, 1, ..., k−1 in order.
    for (const int64_t r : {3, 10, 11, 20, 21})
      EXPECT_TRUE(torch::equal(indices[r], torch::arange(k))) << "row " << r << ", " << where;
    // A finite row never keeps the NaN column while a number is left.
    if (k < L) {
      EXPECT_FALSE((indices.narrow(0, 0, 3) == 7).any().item<bool>()) << where;
    }

    auto ev = e.clone().requires_grad_(true), pv = p.clone().requires_grad_(true);
    (topk_prototype_filter(ev, pv, k).values * torch::randn({rows, k}).to(device)).sum().backward();
    EXPECT_EQ(ev.grad().sizes(), e.sizes());
    EXPECT_EQ(pv.grad().sizes(), p.sizes());
    // The device still works (an illegal address would poison every later call).
    EXPECT_EQ((torch::ones({4}, e.options()) * 2).sum().item<float>(), 8.0f) << where;
  }
}

// bfloat16 and float16 inputs: the float32 filter of the same (rounded) inputs, values rounded
// to the inputs' type, and gradients in that type.
TEST_P(TopkFilterParity, SixteenBitInputsAreFilteredInFloat32) {
  POLYPHONY_KERNEL_TARGET(target, GetParam());
  const torch::Device device = target.device;
  for (const auto type : {torch::kBFloat16, torch::kHalf}) {
    auto e = torch::randn({53, 24}).to(device, type).requires_grad_(true);
    auto p = torch::randn({33, 24}).to(device, type).requires_grad_(true);
    auto kept = topk_prototype_filter(e, p, 6);
    ASSERT_EQ(kept.values.scalar_type(), type);
    auto [sims, ref_indices] =
        reference(e.detach().to(torch::kFloat), p.detach().to(torch::kFloat), 6);
    const auto values = kept.values.detach().cpu().to(torch::kDouble);
    // Rounding to 16 bits: relative error at most 2^-8 (bf16) of a value in [0, 2].
    EXPECT_TRUE(torch::allclose(values, sims.gather(1, kept.indices.cpu()), 0, 8e-3));
    EXPECT_TRUE(torch::allclose(values, sims.gather(1, ref_indices), 0, 8e-3));
    auto weights = torch::randn({53, 6}).to(device, type);
    (kept.values * weights).sum().backward();
    ASSERT_EQ(e.grad().scalar_type(), type);
    ASSERT_EQ(p.grad().scalar_type(), type);
    auto ef = e.detach().to(torch::kFloat).requires_grad_(true);
    auto pf = p.detach().to(torch::kFloat).requires_grad_(true);
    (topk_prototype_filter(ef, pf, 6).values * weights.to(torch::kFloat)).sum().backward();
    EXPECT_TRUE(torch::allclose(e.grad().to(torch::kFloat), ef.grad().to(type).to(torch::kFloat)));
    EXPECT_TRUE(torch::allclose(p.grad().to(torch::kFloat), pf.grad().to(type).to(torch::kFloat)));
  }
}

TEST_P(TopkFilterParity, InvalidArgumentsAreClearErrors) {
  POLYPHONY_KERNEL_TARGET(target, GetParam());
  const torch::Device device = target.device;
  auto e = torch::randn({4, 3}).to(device);
  auto p = torch::randn({5, 3}).to(device);
  EXPECT_THROW(topk_prototype_filter(e, p, 0), c10::Error);
  EXPECT_THROW(topk_prototype_filter(e, p, 6), c10::Error);
  EXPECT_THROW(topk_prototype_filter(e, torch::randn({5, 4}).to(device), 2), c10::Error);
  EXPECT_THROW(topk_prototype_filter(e.t(), torch::randn({5, 4}).to(device), 2), c10::Error);
  EXPECT_THROW(topk_prototype_filter(e, p.to(torch::kHalf), 2), c10::Error);
  EXPECT_THROW(topk_prototype_filter(e.to(torch::kBFloat16), p.to(torch::kHalf), 2), c10::Error);
  if (device.is_cuda()) {
    EXPECT_THROW(topk_prototype_filter(e.cpu(), p, 2), c10::Error);
  }
}

INSTANTIATE_TEST_SUITE_P(Devices, TopkFilterParity,
                         ::testing::ValuesIn(testing::kernel_test_targets()),
                         [](const auto& info) { return info.param; });

// Finite differences in double on the CPU: the autograd function's gradients are the
// derivatives of the function it computes.
TEST(TopkFilterGradcheck, FiniteDifferencesInDouble) {
  auto e = torch::randn({6, 5}, torch::kDouble);
  auto p = torch::randn({9, 5}, torch::kDouble);
  auto w = torch::randn({6, 3}, torch::kDouble);
  auto loss = [&](const at::Tensor& ee, const at::Tensor& pp) {
    return (topk_prototype_filter(ee, pp, 3).values * w).sum().item<double>();
  };
  auto ev = e.clone().requires_grad_(true), pv = p.clone().requires_grad_(true);
  (topk_prototype_filter(ev, pv, 3).values * w).sum().backward();
  const double h = 1e-6;
  for (auto [x, grad] : {std::pair{e, ev.grad()}, std::pair{p, pv.grad()}}) {
    auto flat = x.view(-1);
    for (int64_t i = 0; i < flat.numel(); ++i) {
      const double old = flat[i].item<double>();
      flat[i] = old + h;
      const double up = loss(e, p);
      flat[i] = old - h;
      const double down = loss(e, p);
      flat[i] = old;
      EXPECT_NEAR(grad.view(-1)[i].item<double>(), (up - down) / (2 * h), 1e-6) << "element " << i;
    }
  }
}

// The CPU path sums the prototype gradient in fixed row chunks, added in order: the gradients are
// bit-identical on one thread and on several (deterministic training on any machine).
TEST(TopkFilterCpu, GradientsDoNotDependOnTheThreadCount) {
  auto e = torch::randn({5000, 24});
  auto p = torch::randn({40, 24});
  auto w = torch::randn({5000, 7});
  auto gradients = [&](int threads) {
    const int before = at::get_num_threads();
    at::set_num_threads(threads);
    auto ev = e.clone().requires_grad_(true), pv = p.clone().requires_grad_(true);
    (topk_prototype_filter(ev, pv, 7).values * w).sum().backward();
    at::set_num_threads(before);
    return std::pair{ev.grad(), pv.grad()};
  };
  const auto one = gradients(1), three = gradients(3);
  EXPECT_TRUE(torch::equal(one.first, three.first));
  EXPECT_TRUE(torch::equal(one.second, three.second));
}

}  // namespace
}  // namespace polyphony
