// CPU path of batched spectral-norm estimation: one matrix per task (at::parallel_for).

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cpu_variant.h"
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

template <CpuCapability C, typename T>
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

template <CpuCapability C, typename T>
void gram_spectral_norm_cpu(const T* grams, const T* item_gram, const GramSpectralNormSizes& s,
                            bool warm_start, T* sigma, T* direction, T* user_side, T* item_side,
                            int32_t* iterations) {
  const int64_t d = s.dim;
  at::parallel_for(0, s.batch, 1, [&](int64_t begin, int64_t end) {
    std::vector<T> t(d), y(d);
    for (int64_t g = begin; g < end; ++g) {
      const T* gram = grams + g * d * d;
      T* x = direction + g * d;
      if (!warm_start || normalize(x, d) == 0) {
        for (int64_t j = 0; j < d; ++j) x[j] = static_cast<T>(spectral_start_entry(j));
        normalize(x, d);
      }
      int32_t it = 0;
      while (it < s.max_iterations) {
        ++it;
        multiply(item_gram, x, d, d, t.data());
        multiply(gram, t.data(), d, d, y.data());
        if (normalize(y.data(), d) == 0) break;  // G_g H x = 0: zero factors
        T moved = 0;
        for (int64_t j = 0; j < d; ++j) moved += (y[j] - x[j]) * (y[j] - x[j]);
        std::copy(y.begin(), y.end(), x);
        if (std::sqrt(moved) <= static_cast<T>(s.tolerance)) break;
      }
      multiply(item_gram, x, d, d, t.data());
      multiply(gram, t.data(), d, d, y.data());
      T xt = 0, tgt = 0;
      for (int64_t j = 0; j < d; ++j) {
        xt += x[j] * t[j];
        tgt += t[j] * y[j];
      }
      const bool positive = xt > 0 && tgt > 0;
      sigma[g] = positive ? std::sqrt(tgt / xt) : T(0);
      const T root = positive ? std::sqrt(xt) : T(1);
      for (int64_t j = 0; j < d; ++j) {
        user_side[g * d + j] = positive ? t[j] / root : T(0);
        item_side[g * d + j] = positive ? x[j] * sigma[g] / root : T(0);
      }
      iterations[g] = it;
    }
  });
}

template void batched_spectral_norm_cpu<kThisCpuVariant, float>(const float*,
                                                                const SpectralNormSizes&, bool,
                                                                float*, float*, float*, int32_t*);
template void batched_spectral_norm_cpu<kThisCpuVariant, double>(const double*,
                                                                 const SpectralNormSizes&, bool,
                                                                 double*, double*, double*,
                                                                 int32_t*);

template void gram_spectral_norm_cpu<kThisCpuVariant, float>(const float*, const float*,
                                                             const GramSpectralNormSizes&, bool,
                                                             float*, float*, float*, float*,
                                                             int32_t*);
template void gram_spectral_norm_cpu<kThisCpuVariant, double>(const double*, const double*,
                                                              const GramSpectralNormSizes&, bool,
                                                              double*, double*, double*, double*,
                                                              int32_t*);

}  // namespace polyphony::kernels
