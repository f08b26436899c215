// CPU path of the prototype side's placement: rows in parallel, each written once.

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>

#include "kernels/prototype_side_kernels.h"
#include "kernels/topk_prototype_filter_kernels.h"

namespace polyphony::kernels {
namespace {

int64_t projection_column(const PrototypeSideSizes& s) {
  return s.similarity_column == 0 ? s.prototypes : 0;
}

}  // namespace

template <typename T>
void place_side_cpu(const T* values, const int64_t* indices, T shift, const T* projection,
                    const PrototypeSideSizes& s, T* factor, T* similarities) {
  const int64_t width = s.prototypes + s.projected;
  at::parallel_for(0, s.rows, 256, [&](int64_t begin, int64_t end) {
    for (int64_t n = begin; n < end; ++n) {
      T* row = factor + n * width;
      T* sims = row + s.similarity_column;
      if (s.kept < s.prototypes) std::fill(sims, sims + s.prototypes, T(0));
      for (int64_t j = 0; j < s.kept; ++j) {
        const int64_t l = indices != nullptr ? indices[n * s.kept + j] : j;
        sims[l] = shift + values[n * s.kept + j];
      }
      if (similarities != nullptr)
        std::copy(sims, sims + s.prototypes, similarities + n * s.prototypes);
      if (s.projected > 0)
        std::copy(projection + n * s.projected, projection + (n + 1) * s.projected,
                  row + projection_column(s));
    }
  });
}

template <typename T>
void split_side_gradient_cpu(const T* grad_factor, const T* grad_similarities,
                             const int64_t* indices, const PrototypeSideSizes& s, T* grad_values,
                             T* grad_projection) {
  const int64_t width = s.prototypes + s.projected;
  at::parallel_for(0, s.rows, 256, [&](int64_t begin, int64_t end) {
    for (int64_t n = begin; n < end; ++n) {
      const T* row = grad_factor + n * width;
      for (int64_t j = 0; j < s.kept; ++j) {
        const int64_t l = indices != nullptr ? indices[n * s.kept + j] : j;
        T g = row[s.similarity_column + l];
        if (grad_similarities != nullptr) g += grad_similarities[n * s.prototypes + l];
        grad_values[n * s.kept + j] = g;
      }
      if (s.projected > 0)
        std::copy(row + projection_column(s), row + projection_column(s) + s.projected,
                  grad_projection + n * s.projected);
    }
  });
}

template <typename T>
void unit_rows_cpu(const T* x, int64_t rows, int64_t dim, T* unit, T* norms) {
  at::parallel_for(0, rows, 256, [&](int64_t begin, int64_t end) {
    for (int64_t n = begin; n < end; ++n) {
      const T* row = x + n * dim;
      double sum = 0;
      for (int64_t f = 0; f < dim; ++f) sum += static_cast<double>(row[f]) * row[f];
      norms[n] = static_cast<T>(std::sqrt(sum));
      const T scale = static_cast<T>(1.0 / std::max(std::sqrt(sum), kNormEps));
      for (int64_t f = 0; f < dim; ++f) unit[n * dim + f] = row[f] * scale;
    }
  });
}

template <typename T>
void unit_rows_backward_cpu(const T* unit, const T* norms, int64_t rows, int64_t dim, T* grad) {
  at::parallel_for(0, rows, 256, [&](int64_t begin, int64_t end) {
    for (int64_t n = begin; n < end; ++n) {
      T* g = grad + n * dim;
      const T* u = unit + n * dim;
      // As clamp_min, whose gradient passes at the bound.
      if (static_cast<double>(norms[n]) < kNormEps) {
        for (int64_t f = 0; f < dim; ++f) g[f] = static_cast<T>(g[f] / kNormEps);
        continue;
      }
      double along = 0;
      for (int64_t f = 0; f < dim; ++f) along += static_cast<double>(g[f]) * u[f];
      for (int64_t f = 0; f < dim; ++f) g[f] = static_cast<T>((g[f] - along * u[f]) / norms[n]);
    }
  });
}

#define POLYPHONY_INSTANTIATE(T)                                               \
  template void place_side_cpu<T>(const T*, const int64_t*, T, const T*,       \
                                  const PrototypeSideSizes&, T*, T*);          \
  template void split_side_gradient_cpu<T>(const T*, const T*, const int64_t*, \
                                           const PrototypeSideSizes&, T*, T*); \
  template void unit_rows_cpu<T>(const T*, int64_t, int64_t, T*, T*);          \
  template void unit_rows_backward_cpu<T>(const T*, const T*, int64_t, int64_t, T*);
POLYPHONY_INSTANTIATE(float)
POLYPHONY_INSTANTIATE(double)
#undef POLYPHONY_INSTANTIATE

}  // namespace polyphony::kernels
