// CPU path of the top-k prototype filter: rows in parallel (at::parallel_for); the prototype
// gradient is gathered per prototype from a counting sort of the kept entries, so it needs no
// atomics and its summation order does not depend on the number of threads.

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "kernels/topk_prototype_filter_kernels.h"

namespace polyphony::kernels {
namespace {

template <typename T>
T dot(const T* a, const T* b, int64_t n) {
  T sum = 0;
  for (int64_t j = 0; j < n; ++j) sum += a[j] * b[j];
  return sum;
}

// 1 / max(‖x_r‖, eps) for each row r of x [rows, dim].
template <typename T>
std::vector<T> inverse_norms(const T* x, int64_t rows, int64_t dim) {
  std::vector<T> out(rows);
  at::parallel_for(0, rows, 256, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const T norm = std::sqrt(dot(x + r * dim, x + r * dim, dim));
      out[r] = T(1) / std::max(norm, static_cast<T>(kNormEps));
    }
  });
  return out;
}

}  // namespace

template <typename T>
void topk_filter_forward_cpu(const T* entities, const T* prototypes, const TopkFilterSizes& s,
                             T* values, int64_t* indices) {
  const auto p_inv = inverse_norms(prototypes, s.prototypes, s.dim);
  at::parallel_for(0, s.rows, 64, [&](int64_t begin, int64_t end) {
    std::vector<T> sim(s.prototypes);
    std::vector<int64_t> order(s.prototypes);
    for (int64_t n = begin; n < end; ++n) {
      const T* e = entities + n * s.dim;
      const T a = T(1) / std::max(std::sqrt(dot(e, e, s.dim)), static_cast<T>(kNormEps));
      for (int64_t l = 0; l < s.prototypes; ++l)
        sim[l] = T(1) + dot(e, prototypes + l * s.dim, s.dim) * a * p_inv[l];
      std::iota(order.begin(), order.end(), 0);
      std::partial_sort(order.begin(), order.begin() + s.k, order.end(), [&](int64_t i, int64_t j) {
        return sim[i] > sim[j] || (sim[i] == sim[j] && i < j);
      });
      for (int64_t j = 0; j < s.k; ++j) {
        values[n * s.k + j] = sim[order[j]];
        indices[n * s.k + j] = order[j];
      }
    }
  });
}

template <typename T>
void topk_filter_backward_cpu(const T* grad_values, const T* values, const int64_t* indices,
                              const T* entities, const T* prototypes, const TopkFilterSizes& s,
                              T* grad_entities, T* grad_prototypes) {
  const auto e_inv = inverse_norms(entities, s.rows, s.dim);
  const auto p_inv = inverse_norms(prototypes, s.prototypes, s.dim);
  const T eps = static_cast<T>(kNormEps);
  // d cos(e, p) / d e = a (p̂ − cos · ê) with a = 1/‖e‖; when the norm is clamped, a is a constant
  // and the projection term drops out. Same for p.
  at::parallel_for(0, s.rows, 64, [&](int64_t begin, int64_t end) {
    std::vector<T> acc(s.dim);
    for (int64_t n = begin; n < end; ++n) {
      std::fill(acc.begin(), acc.end(), T(0));
      T weighted_cos = 0;
      for (int64_t j = 0; j < s.k; ++j) {
        const int64_t l = indices[n * s.k + j];
        const T g = grad_values[n * s.k + j];
        weighted_cos += g * (values[n * s.k + j] - T(1));
        const T* p = prototypes + l * s.dim;
        for (int64_t f = 0; f < s.dim; ++f) acc[f] += g * p[f] * p_inv[l];
      }
      const T a = e_inv[n];
      const bool clamped = T(1) / a <= eps;
      const T* e = entities + n * s.dim;
      T* out = grad_entities + n * s.dim;
      for (int64_t f = 0; f < s.dim; ++f)
        out[f] = a * (acc[f] - (clamped ? T(0) : weighted_cos * e[f] * a));
    }
  });

  // Kept entries grouped by prototype (counting sort, in row order).
  const int64_t entries = s.rows * s.k;
  std::vector<int64_t> start(s.prototypes + 1, 0), order(entries);
  for (int64_t t = 0; t < entries; ++t) ++start[indices[t] + 1];
  std::partial_sum(start.begin(), start.end(), start.begin());
  std::vector<int64_t> fill(start.begin(), start.end() - 1);
  for (int64_t t = 0; t < entries; ++t) order[fill[indices[t]]++] = t;

  at::parallel_for(0, s.prototypes, 8, [&](int64_t begin, int64_t end) {
    std::vector<T> acc(s.dim);
    for (int64_t l = begin; l < end; ++l) {
      std::fill(acc.begin(), acc.end(), T(0));
      T weighted_cos = 0;
      for (int64_t q = start[l]; q < start[l + 1]; ++q) {
        const int64_t t = order[q];
        const int64_t n = t / s.k;
        const T g = grad_values[t];
        weighted_cos += g * (values[t] - T(1));
        const T* e = entities + n * s.dim;
        for (int64_t f = 0; f < s.dim; ++f) acc[f] += g * e[f] * e_inv[n];
      }
      const T b = p_inv[l];
      const bool clamped = T(1) / b <= eps;
      const T* p = prototypes + l * s.dim;
      T* out = grad_prototypes + l * s.dim;
      for (int64_t f = 0; f < s.dim; ++f)
        out[f] = b * (acc[f] - (clamped ? T(0) : weighted_cos * p[f] * b));
    }
  });
}

template void topk_filter_forward_cpu<float>(const float*, const float*, const TopkFilterSizes&,
                                             float*, int64_t*);
template void topk_filter_forward_cpu<double>(const double*, const double*, const TopkFilterSizes&,
                                              double*, int64_t*);
template void topk_filter_backward_cpu<float>(const float*, const float*, const int64_t*,
                                              const float*, const float*, const TopkFilterSizes&,
                                              float*, float*);
template void topk_filter_backward_cpu<double>(const double*, const double*, const int64_t*,
                                               const double*, const double*, const TopkFilterSizes&,
                                               double*, double*);

}  // namespace polyphony::kernels
