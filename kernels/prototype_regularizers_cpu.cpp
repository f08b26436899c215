// CPU path of ProtoMF's regularisers: plain loops. The similarities are one step's [n, L] (a few
// thousand rows) and the prototypes [L, d] with L, d in the tens, so one thread suffices and the
// sums keep one order.

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/prototype_regularizers_kernels.h"
#include "kernels/topk_prototype_filter_kernels.h"

namespace polyphony::kernels {
namespace {

// at::max's order: NaN before every number, then the larger; the first index wins a tie.
template <typename T>
bool exceeds(T v, T best) {
  const bool v_nan = v != v, best_nan = best != best;
  if (v_nan || best_nan) return v_nan && !best_nan;
  return v > best;
}

// The rows of P over their clamped norms, and those norms (before clamping).
template <typename T>
void unit_rows(const T* p, int64_t rows, int64_t dim, std::vector<double>& unit,
               std::vector<double>& norms) {
  unit.assign(static_cast<size_t>(rows * dim), 0.0);
  norms.assign(static_cast<size_t>(rows), 0.0);
  for (int64_t i = 0; i < rows; ++i) {
    double sum = 0;
    for (int64_t f = 0; f < dim; ++f) sum += static_cast<double>(p[i * dim + f]) * p[i * dim + f];
    norms[i] = std::sqrt(sum);
    const double scale = 1.0 / std::max(norms[i], kNormEps);
    for (int64_t f = 0; f < dim; ++f) unit[i * dim + f] = p[i * dim + f] * scale;
  }
}

double dot(const double* a, const double* b, int64_t n) {
  double sum = 0;
  for (int64_t f = 0; f < n; ++f) sum += a[f] * b[f];
  return sum;
}

}  // namespace

template <typename T>
void similarity_maxima_cpu(const T* s, int64_t rows, int64_t cols, T* column_max,
                           int64_t* column_arg, T* row_max, int64_t* row_arg) {
  std::copy(s, s + cols, column_max);
  std::fill(column_arg, column_arg + cols, 0);
  for (int64_t i = 0; i < rows; ++i) {
    const T* row = s + i * cols;
    int64_t arg = 0;
    for (int64_t l = 0; l < cols; ++l) {
      if (exceeds(row[l], row[arg])) arg = l;
      if (exceeds(row[l], column_max[l])) {
        column_max[l] = row[l];
        column_arg[l] = i;
      }
    }
    row_max[i] = row[arg];
    row_arg[i] = arg;
  }
}

template <typename T>
void similarity_maxima_backward_cpu(const int64_t* column_arg, T column_coefficient,
                                    const int64_t* row_arg, const T* row_coefficients, int64_t rows,
                                    int64_t cols, T* grad) {
  std::fill(grad, grad + rows * cols, T(0));
  for (int64_t l = 0; l < cols; ++l) grad[column_arg[l] * cols + l] += column_coefficient;
  for (int64_t i = 0; i < rows; ++i) grad[i * cols + row_arg[i]] += row_coefficients[i];
}

template <typename T>
double orthogonality_cpu(const T* prototypes, int64_t rows, int64_t dim, bool official) {
  std::vector<double> unit, norms;
  unit_rows(prototypes, rows, dim, unit, norms);
  double sum = 0;
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < rows; ++j) {
      const double g = dot(&unit[i * dim], &unit[j * dim], dim);
      const double identity = i == j ? 1.0 : 0.0;
      if (!official) {
        sum += (g - identity) * (g - identity);
      } else if (i != j) {
        sum += g * g;
      }
    }
  return official ? std::sqrt(sum + static_cast<double>(rows)) : sum;
}

template <typename T>
void orthogonality_backward_cpu(const T* prototypes, int64_t rows, int64_t dim, bool official,
                                double value, double scale, T* grad) {
  std::vector<double> unit, norms;
  unit_rows(prototypes, rows, dim, unit, norms);
  // ∂/∂P̂ = A P̂ with A = 4 (G − I), or 2 (G − diag G) / value for the square root of the official
  // form (G symmetric); then through P̂ = p / max(‖p‖, eps).
  std::vector<double> unit_grad(static_cast<size_t>(dim));
  for (int64_t i = 0; i < rows; ++i) {
    std::fill(unit_grad.begin(), unit_grad.end(), 0.0);
    for (int64_t j = 0; j < rows; ++j) {
      const double g = dot(&unit[i * dim], &unit[j * dim], dim);
      const double identity = i == j ? 1.0 : 0.0;
      const double a = official ? 2.0 * g * (1.0 - identity) / value : 4.0 * (g - identity);
      for (int64_t f = 0; f < dim; ++f) unit_grad[f] += a * unit[j * dim + f];
    }
    const double* u = &unit[i * dim];
    if (norms[i] >= kNormEps) {  // as clamp_min, whose gradient passes at the bound
      const double along = dot(unit_grad.data(), u, dim);
      for (int64_t f = 0; f < dim; ++f)
        grad[i * dim + f] = static_cast<T>(scale * (unit_grad[f] - along * u[f]) / norms[i]);
    } else {  // the clamped norm is a constant
      for (int64_t f = 0; f < dim; ++f)
        grad[i * dim + f] = static_cast<T>(scale * unit_grad[f] / kNormEps);
    }
  }
}

#define POLYPHONY_INSTANTIATE(T)                                                                  \
  template void similarity_maxima_cpu<T>(const T*, int64_t, int64_t, T*, int64_t*, T*, int64_t*); \
  template void similarity_maxima_backward_cpu<T>(const int64_t*, T, const int64_t*, const T*,    \
                                                  int64_t, int64_t, T*);                          \
  template double orthogonality_cpu<T>(const T*, int64_t, int64_t, bool);                         \
  template void orthogonality_backward_cpu<T>(const T*, int64_t, int64_t, bool, double, double, T*);
POLYPHONY_INSTANTIATE(float)
POLYPHONY_INSTANTIATE(double)
#undef POLYPHONY_INSTANTIATE

}  // namespace polyphony::kernels
