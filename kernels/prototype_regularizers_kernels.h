#pragma once
// Raw CPU kernels of ProtoMF's regularisers (prototype_regularizers.h): no Torch types. Matrices
// are row-major and contiguous; T is float or double.

#include <cstdint>

namespace polyphony::kernels {

// The maximum of each column and of each row of S [rows, cols], with the first index holding it;
// NaN ranks above every number (at::max's order).
template <typename T>
void similarity_maxima_cpu(const T* s, int64_t rows, int64_t cols, T* column_max,
                           int64_t* column_arg, T* row_max, int64_t* row_arg);

// grad [rows, cols] = column_coefficient at (column_arg[l], l) for each column l, plus
// row_coefficients[i] at (i, row_arg[i]) for each row i; zero elsewhere.
template <typename T>
void similarity_maxima_backward_cpu(const int64_t* column_arg, T column_coefficient,
                                    const int64_t* row_arg, const T* row_coefficients, int64_t rows,
                                    int64_t cols, T* grad);

// The distributing regulariser of P [L, dim]: Σ_{i,j} (G_ij − δ_ij)² (official: the square root
// of Σ_{i≠j} G_ij² + L), G = P̂ P̂ᵀ, P̂ the rows over max(‖p‖, eps).
template <typename T>
double orthogonality_cpu(const T* prototypes, int64_t rows, int64_t dim, bool official);

// Its gradient with respect to P, times `scale`, given the value it returned.
template <typename T>
void orthogonality_backward_cpu(const T* prototypes, int64_t rows, int64_t dim, bool official,
                                double value, double scale, T* grad);

}  // namespace polyphony::kernels
