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

struct CUstream_st;

#ifdef __CUDACC__
#define POLYPHONY_HOST_DEVICE __host__ __device__
#else
#define POLYPHONY_HOST_DEVICE
#endif

namespace polyphony::kernels {

using Stream = CUstream_st*;

struct SpectralNormSizes {
  int64_t batch = 0;
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t max_iterations = 100;
  double tolerance = 1e-6;
};

template <typename T>
void batched_spectral_norm_cpu(const T* matrices, const SpectralNormSizes& sizes, bool warm_start,
                               T* sigma, T* left, T* right, int32_t* iterations);

void batched_spectral_norm_cuda(const float* matrices, const SpectralNormSizes& sizes,
                                bool warm_start, float* sigma, float* left, float* right,
                                int32_t* iterations, Stream stream);

// The fixed starting vector's j-th entry (before normalisation): spread, never zero, and not
// aligned with any coordinate axis, so it is not orthogonal to a singular vector by construction.
POLYPHONY_HOST_DEVICE inline double spectral_start_entry(int64_t j) {
  const double x = static_cast<double>(j) * 0.6180339887498949;
  return 1.0 + 0.5 * (x - static_cast<double>(static_cast<int64_t>(x)));
}

}  // namespace polyphony::kernels
