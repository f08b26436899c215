// CPU path of batched spectral-norm estimation: one matrix per task (at::parallel_for).

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/spectral_norm_kernels.h"

namespace polyphony::kernels {
namespace {

template <typename T>
T normalize(T* x, int64_t n) {
  T sq = 0;
  for (int64_t i = 0; i < n; ++i) sq += x[i] * x[i];
  const T norm = std::sqrt(sq);
  if (norm > 0)
    for (int64_t i = 0; i < n; ++i) x[i] /= norm;
  return norm;
}

template <typename T>
void multiply(const T* a, const T* v, int64_t m, int64_t n, T* u) {  // u = A v
  for (int64_t i = 0; i < m; ++i) {
    T s = 0;
    for (int64_t j = 0; j < n; ++j) s += a[i * n + j] * v[j];
    u[i] = s;
  }
}

template <typename T>
void multiply_transposed(const T* a, const T* u, int64_t m, int64_t n, T* v) {  // v = Aᵀ u
  for (int64_t j = 0; j < n; ++j) v[j] = 0;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) v[j] += a[i * n + j] * u[i];
}

}  // namespace

template <typename T>
void batched_spectral_norm_cpu(const T* matrices, const SpectralNormSizes& s, bool warm_start,
                               T* sigma, T* left, T* right, int32_t* iterations) {
  const int64_t m = s.rows, n = s.cols;
  at::parallel_for(0, s.batch, 1, [&](int64_t begin, int64_t end) {
    for (int64_t g = begin; g < end; ++g) {
      const T* a = matrices + g * m * n;
      T* u = left + g * m;
      T* v = right + g * n;
      if (!warm_start || normalize(v, n) == 0) {
        for (int64_t j = 0; j < n; ++j) v[j] = static_cast<T>(spectral_start_entry(j));
        normalize(v, n);
      }
      std::vector<T> previous(n);
      int32_t it = 0;
      while (it < s.max_iterations) {
        ++it;
        multiply(a, v, m, n, u);
        if (normalize(u, m) == 0) break;  // A v = 0: a zero matrix (or v in its null space)
        std::copy(v, v + n, previous.begin());
        multiply_transposed(a, u, m, n, v);
        normalize(v, n);
        T moved = 0;
        for (int64_t j = 0; j < n; ++j) moved += (v[j] - previous[j]) * (v[j] - previous[j]);
        if (std::sqrt(moved) <= static_cast<T>(s.tolerance)) break;
      }
      multiply(a, v, m, n, u);
      sigma[g] = normalize(u, m);
      if (sigma[g] == 0) {
        for (int64_t i = 0; i < m; ++i) u[i] = static_cast<T>(spectral_start_entry(i));
        normalize(u, m);
      }
      iterations[g] = it;
    }
  });
}

template void batched_spectral_norm_cpu<float>(const float*, const SpectralNormSizes&, bool, float*,
                                               float*, float*, int32_t*);
template void batched_spectral_norm_cpu<double>(const double*, const SpectralNormSizes&, bool,
                                                double*, double*, double*, int32_t*);

}  // namespace polyphony::kernels
