#pragma once
// Raw CPU kernels of the prototype side (prototype_side.h): the placement of the filter's kept
// similarities and the projection into the side's factor, and back. No Torch types; matrices are
// row-major and contiguous; T is float or double. The factor [rows, L + F] holds the similarities
// in columns [similarity_column, + L) and the projection in the other F.

#include <cstdint>

namespace polyphony::kernels {

struct PrototypeSideSizes {
  int64_t rows = 0;
  int64_t prototypes = 0;         // L
  int64_t kept = 0;               // k of the filter, ≤ L
  int64_t projected = 0;          // F (0: no projection)
  int64_t similarity_column = 0;  // 0, or F when the projection comes first
};

// factor row n: shift + values[n, j] at column similarity_column + indices[n, j], the other
// similarity columns zero, projection[n] (when F > 0) in the projection's columns. Null indices:
// every prototype kept, in order (values [rows, L]). `similarities` (when not null) [rows, L]
// receives the similarity columns alone.
template <typename T>
void place_side_cpu(const T* values, const int64_t* indices, T shift, const T* projection,
                    const PrototypeSideSizes& sizes, T* factor, T* similarities);

// The inverse for gradients: grad_values [rows, k] = the factor's gradient at the kept entries
// (plus grad_similarities there, when not null; null indices: every prototype, in order);
// grad_projection [rows, F] (when F > 0) = its projection columns.
template <typename T>
void split_side_gradient_cpu(const T* grad_factor, const T* grad_similarities,
                             const int64_t* indices, const PrototypeSideSizes& sizes,
                             T* grad_values, T* grad_projection);

// Unfiltered similarities as one matrix product of unit rows (the filter's kernels select every
// entry one by one): unit = x / max(‖x‖, kNormEps) for each row of x [rows, dim], norms = ‖x‖.
template <typename T>
void unit_rows_cpu(const T* x, int64_t rows, int64_t dim, T* unit, T* norms);

// In place, for each row: the gradient with respect to x of `grad`, one with respect to its unit
// row: (g − (g·x̂) x̂) / ‖x‖, or g / kNormEps where the norm was clamped.
template <typename T>
void unit_rows_backward_cpu(const T* unit, const T* norms, int64_t rows, int64_t dim, T* grad);

}  // namespace polyphony::kernels
