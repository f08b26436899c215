#pragma once
// Raw kernels of batched spectral-norm estimation by power iteration (models.md, "ReSN"): no
// Torch types. matrices [G, m, n] row-major; left [G, m], right [G, n]; sigma [G];
// iterations [G].
//
// For each matrix A: v ← Aᵀu / ‖Aᵀu‖ after u ← A v / ‖A v‖, until the unit vector v moves by at
// most `tolerance` (Euclidean) in one iteration or max_iterations is reached; on return
// A v = σ u with ‖u‖ = ‖v‖ = 1. The criterion is on v, not on σ, because σ converges twice as
// fast as v and gradients through the singular vectors need v itself accurate.
// With warm_start, `right` holds the starting vector (the previous call's); otherwise a fixed
// vector is used. A zero matrix gives σ = 0 with the starting vectors, normalised.

#include <cstdint>

#include "kernels/common.h"
#include "kernels/cpu_capability.h"

namespace polyphony::kernels {

struct SpectralNormSizes {
  int64_t batch = 0;
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t max_iterations = 100;
  double tolerance = 1e-6;
};

// CPU, compiled once per CpuCapability (kernels/cpu_capability.h).
template <CpuCapability C, typename T>
void batched_spectral_norm_cpu(const T* matrices, const SpectralNormSizes& sizes, bool warm_start,
                               T* sigma, T* left, T* right, int32_t* iterations);

void batched_spectral_norm_cuda(const float* matrices, const SpectralNormSizes& sizes,
                                bool warm_start, float* sigma, float* left, float* right,
                                int32_t* iterations, Stream stream);

// σ₁(U_g Vᵀ) of tall factors from their d×d Gram matrices grams [G, d, d] (G_g = U_gᵀU_g) and
// item_gram [d, d] (H = VᵀV), without square roots or decompositions: σ₁² is the largest
// eigenvalue of G_g H (similar to the PSD matrix G_g^{1/2} H G_g^{1/2}, so real and ≥ 0), found
// by power iteration x ← G_g H x / ‖G_g H x‖ until the unit vector x moves by at most `tolerance`,
// from `direction` [G, d] with warm_start (else the fixed vector), then σ₁² = tᵀG_g t / xᵀt with
// t = H x. On return `direction` holds x, and user_side [G, d] = H z / σ₁ and item_side [G, d] = z
// with z = x σ₁ / √(xᵀHx): the vectors of the gradients ∂σ₁/∂U_g = U_g w wᵀ / σ₁ (w = user_side)
// and ∂σ₁/∂V = V z zᵀ / σ₁. Zero factors give σ₁ = 0 and zero vectors.
struct GramSpectralNormSizes {
  int64_t batch = 0;
  int64_t dim = 0;
  int64_t max_iterations = 100;
  double tolerance = 1e-6;
};

template <CpuCapability C, typename T>
void gram_spectral_norm_cpu(const T* grams, const T* item_gram, const GramSpectralNormSizes& sizes,
                            bool warm_start, T* sigma, T* direction, T* user_side, T* item_side,
                            int32_t* iterations);

void gram_spectral_norm_cuda(const float* grams, const float* item_gram,
                             const GramSpectralNormSizes& sizes, bool warm_start, float* sigma,
                             float* direction, float* user_side, float* item_side,
                             int32_t* iterations, Stream stream);

// The fixed starting vector's j-th entry (before normalisation): spread, never zero, and not
// aligned with any coordinate axis, so it is not orthogonal to a singular vector by construction.
POLYPHONY_HOST_DEVICE inline double spectral_start_entry(int64_t j) {
  const double x = static_cast<double>(j) * 0.6180339887498949;
  return 1.0 + 0.5 * (x - static_cast<double>(static_cast<int64_t>(x)));
}

}  // namespace polyphony::kernels
