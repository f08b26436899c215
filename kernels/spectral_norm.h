#pragma once
// Batched spectral-norm estimation (ReSN, Lin et al., WSDM 2025; models.md): the largest singular
// value and its singular vectors of many small matrices by warm-started power iteration, and the
// factorised σ₁(U_g Vᵀ) of tall factors without forming U Vᵀ, differentiable w.r.t. U and V.
// One interface for CPU and CUDA.

#include <cstdint>

#include <ATen/core/Tensor.h>

namespace polyphony {

struct SpectralNormOptions {
  /// Cap on power iterations per call.
  int64_t max_iterations = 100;
  /// Stop when the right singular vector moves by at most this much in one iteration.
  double tolerance = 1e-6;
};

struct SpectralNormResult {
  at::Tensor sigma;       // [G]
  at::Tensor left;        // [G, m], A v = σ u
  at::Tensor right;       // [G, n]
  at::Tensor iterations;  // int32 [G]
};

// matrices [G, m, n] (float32, or float64 on the CPU). `warm_right` [G, n], when defined, starts
// the iteration (the previous call's `right`). No autograd.
SpectralNormResult batched_spectral_norm(const at::Tensor& matrices,
                                         const SpectralNormOptions& options = {},
                                         const at::Tensor& warm_right = {});

// Warm-start state of the factorised path, kept by the caller between calls (e.g. training steps).
struct SpectralWarmStart {
  at::Tensor right;  // [G, d]: the power iteration's last direction
};

// σ₁(U_g Vᵀ) for each user group g (rows of U with user_groups == g; all rows when user_groups is
// undefined and num_groups is 1), without forming U Vᵀ: σ₁(U_g Vᵀ)² is the largest eigenvalue of
// G_g H with the d×d Gram matrices G_g = U_gᵀU_g and H = VᵀV, found by the batched Gram kernel's
// power iteration (no square roots or eigendecompositions). Differentiable: ∂σ/∂U_g = U_g w wᵀ / σ
// and ∂σ/∂V = V z zᵀ / σ with the kernel's gradient vectors w and z. Returns [G].
at::Tensor factorized_spectral_norm(const at::Tensor& user_factors, const at::Tensor& item_factors,
                                    const at::Tensor& user_groups, int64_t num_groups,
                                    SpectralWarmStart* warm_start = nullptr,
                                    const SpectralNormOptions& options = {});

}  // namespace polyphony
