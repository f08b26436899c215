// Torch adapter of batched spectral-norm estimation: checks, device dispatch, and the autograd
// function of the factorised path.

#include "kernels/spectral_norm.h"

#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <torch/autograd.h>

#include "kernels/device_dispatch.h"
#include "kernels/spectral_norm_kernels.h"

namespace polyphony {
namespace {

struct GramSpectralNorm {
  at::Tensor sigma, user_side, item_side;  // [G], [G, d], [G, d]
};

// σ₁(U_g Vᵀ) from the Gram matrices (spectral_norm_kernels.h); `direction` [G, d] is the warm
// start when `warm`, and holds the converged direction on return.
GramSpectralNorm gram_spectral_norm(const at::Tensor& grams, const at::Tensor& item_gram,
                                    const SpectralNormOptions& options, at::Tensor& direction,
                                    bool warm) {
  const int64_t batch = grams.size(0), d = grams.size(2);
  GramSpectralNorm r{at::empty({batch}, grams.options()), at::empty({batch, d}, grams.options()),
                     at::empty({batch, d}, grams.options())};
  auto iterations = at::empty({batch}, grams.options().dtype(at::kInt));
  const kernels::GramSpectralNormSizes sizes{batch, d, options.max_iterations, options.tolerance};
  kernels::dispatch_by_device(
      grams, "factorised spectral norm",
      [&](kernels::Stream stream) {
        kernels::gram_spectral_norm_cuda(
            grams.data_ptr<float>(), item_gram.data_ptr<float>(), sizes, warm,
            r.sigma.data_ptr<float>(), direction.data_ptr<float>(), r.user_side.data_ptr<float>(),
            r.item_side.data_ptr<float>(), iterations.data_ptr<int32_t>(), stream);
      },
      [&] {
        AT_DISPATCH_FLOATING_TYPES(grams.scalar_type(), "gram_spectral_norm_cpu", [&] {
          kernels::dispatch_by_cpu_capability([&](auto cpu) {
            kernels::gram_spectral_norm_cpu<decltype(cpu)::value, scalar_t>(
                grams.data_ptr<scalar_t>(), item_gram.data_ptr<scalar_t>(), sizes, warm,
                r.sigma.data_ptr<scalar_t>(), direction.data_ptr<scalar_t>(),
                r.user_side.data_ptr<scalar_t>(), r.item_side.data_ptr<scalar_t>(),
                iterations.data_ptr<int32_t>());
          });
        });
      });
  return r;
}

class FactorizedSpectralNormFunction
    : public torch::autograd::Function<FactorizedSpectralNormFunction> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& users,
                            const at::Tensor& items, const at::Tensor& groups, int64_t num_groups,
                            SpectralWarmStart* warm, SpectralNormOptions options) {
    TORCH_CHECK(users.dim() == 2 && items.dim() == 2 && users.size(1) == items.size(1),
                "factorised spectral norm: factors must be [N, d] and [M, d], got ", users.sizes(),
                " and ", items.sizes());
    TORCH_CHECK(num_groups >= 1, "factorised spectral norm: num_groups must be at least 1");
    // An empty `groups` stands for "all rows in one group" (autograd inputs must be defined).
    const bool grouped = groups.numel() > 0;
    TORCH_CHECK(grouped || num_groups == 1 || users.size(0) == 0,
                "factorised spectral norm: several groups need user_groups");
    const int64_t d = users.size(1);
    auto item_gram = at::mm(items.t(), items);  // H = VᵀV [d, d]
    at::Tensor user_grams;                      // G_g [G, d, d]
    if (!grouped) {
      user_grams = at::mm(users.t(), users).unsqueeze(0);
    } else {
      TORCH_CHECK(groups.sizes() == at::IntArrayRef({users.size(0)}),
                  "factorised spectral norm: user_groups must be [N]");
      TORCH_CHECK(users.size(0) == 0 || (groups.min().item<int64_t>() >= 0 &&
                                         groups.max().item<int64_t>() < num_groups),
                  "factorised spectral norm: user_groups must lie in [0, ", num_groups, ")");
      // Rows sorted by group, then one d×d product per group (one host read of the counts).
      auto order = at::argsort(groups);
      auto sorted = users.index_select(0, order);
      auto counts = at::bincount(groups, {}, num_groups).cpu();
      user_grams = at::zeros({num_groups, d, d}, users.options());
      int64_t begin = 0;
      for (int64_t g = 0; g < num_groups; ++g) {
        const int64_t count = counts[g].item<int64_t>();
        auto rows = sorted.narrow(0, begin, count);
        user_grams[g].copy_(at::mm(rows.t(), rows));
        begin += count;
      }
    }
    const bool warm_given =
        warm && warm->right.defined() && warm->right.sizes() == at::IntArrayRef({num_groups, d});
    auto direction = warm_given ? warm->right.to(users.options()).contiguous().clone()
                                : at::empty({num_groups, d}, users.options());
    auto r = gram_spectral_norm(user_grams.contiguous(), item_gram.contiguous(), options, direction,
                                warm_given);
    if (warm) warm->right = direction;
    const auto& w = r.user_side;  // H z / σ: ∂σ/∂U_g = U_g w wᵀ / σ
    const auto& z = r.item_side;  // ∂σ/∂V = V z zᵀ / σ
    ctx->save_for_backward({users, items, groups, r.sigma, w, z});
    return r.sigma;
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto& users = saved[0];
    const auto& items = saved[1];
    const auto& groups = saved[2];
    const auto& sigma = saved[3];
    const auto& w = saved[4];
    const auto& z = saved[5];
    // dσ/σ scaling; a zero σ (zero factors) has a zero gradient.
    auto scale = at::where(sigma > 0, grads[0] / sigma, at::zeros_like(sigma));  // [G]
    auto user_outer = w.unsqueeze(2) * w.unsqueeze(1) * scale.view({-1, 1, 1});  // [G, d, d]
    auto item_outer = (z.unsqueeze(2) * z.unsqueeze(1) * scale.view({-1, 1, 1})).sum(0);
    at::Tensor grad_users;
    if (groups.numel() == 0) {
      grad_users = at::mm(users, user_outer[0]);
    } else {
      grad_users = at::bmm(users.unsqueeze(1), user_outer.index_select(0, groups)).squeeze(1);
    }
    auto grad_items = at::mm(items, item_outer);
    return {grad_users, grad_items, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

SpectralNormResult batched_spectral_norm(const at::Tensor& matrices,
                                         const SpectralNormOptions& options,
                                         const at::Tensor& warm_right) {
  TORCH_CHECK(matrices.dim() == 3, "batched spectral norm: matrices must be [G, m, n], got ",
              matrices.sizes());
  TORCH_CHECK(options.max_iterations >= 1, "batched spectral norm: max_iterations must be >= 1");
  TORCH_CHECK(options.tolerance >= 0, "batched spectral norm: tolerance must be >= 0");
  const int64_t batch = matrices.size(0), m = matrices.size(1), n = matrices.size(2);
  TORCH_CHECK(m >= 1 && n >= 1, "batched spectral norm: empty matrices ", matrices.sizes());
  auto a = matrices.contiguous();
  auto sigma = at::empty({batch}, a.options());
  auto left = at::empty({batch, m}, a.options());
  auto right = at::empty({batch, n}, a.options());
  auto iterations = at::empty({batch}, a.options().dtype(at::kInt));
  const bool warm = warm_right.defined();
  if (warm) {
    TORCH_CHECK(warm_right.sizes() == at::IntArrayRef({batch, n}),
                "batched spectral norm: warm start must be [G, n] = [", batch, ", ", n, "], got ",
                warm_right.sizes());
    right.copy_(warm_right);
  }
  const kernels::SpectralNormSizes sizes{batch, m, n, options.max_iterations, options.tolerance};
  kernels::dispatch_by_device(
      a, "batched spectral norm",
      [&](kernels::Stream stream) {
        kernels::batched_spectral_norm_cuda(
            a.data_ptr<float>(), sizes, warm, sigma.data_ptr<float>(), left.data_ptr<float>(),
            right.data_ptr<float>(), iterations.data_ptr<int32_t>(), stream);
      },
      [&] {
        AT_DISPATCH_FLOATING_TYPES(a.scalar_type(), "batched_spectral_norm_cpu", [&] {
          kernels::dispatch_by_cpu_capability([&](auto cpu) {
            kernels::batched_spectral_norm_cpu<decltype(cpu)::value, scalar_t>(
                a.data_ptr<scalar_t>(), sizes, warm, sigma.data_ptr<scalar_t>(),
                left.data_ptr<scalar_t>(), right.data_ptr<scalar_t>(),
                iterations.data_ptr<int32_t>());
          });
        });
      });
  return {sigma, left, right, iterations};
}

at::Tensor factorized_spectral_norm(const at::Tensor& user_factors, const at::Tensor& item_factors,
                                    const at::Tensor& user_groups, int64_t num_groups,
                                    SpectralWarmStart* warm_start,
                                    const SpectralNormOptions& options) {
  auto groups =
      user_groups.defined() ? user_groups : at::empty({0}, user_factors.options().dtype(at::kLong));
  return FactorizedSpectralNormFunction::apply(user_factors, item_factors, groups, num_groups,
                                               warm_start, options);
}

}  // namespace polyphony
