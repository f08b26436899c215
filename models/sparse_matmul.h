#pragma once
// Products of a sparse matrix (CSR) with a dense one, differentiable in the dense argument, for
// the graph models (LightGCN, multi-interest): a real sparse product, never a dense adjacency.

#include <ATen/core/Tensor.h>

namespace polyphony {

// A CSR matrix together with its transpose, which the gradient needs (dL/dX = Aᵀ dL/dY).
struct SparseMatrix {
  at::Tensor matrix;      // sparse CSR [n, m]
  at::Tensor transposed;  // sparse CSR [m, n]; the same tensor for a symmetric matrix

  // A copy on `device` with values of `dtype` (itself when already there).
  SparseMatrix to(c10::Device device, c10::ScalarType dtype) const;
};

// The n × m matrix with values[e] at (rows[e], cols[e]); duplicate positions are summed.
// `symmetric` (the caller guarantees it) stores the matrix once.
SparseMatrix sparse_matrix(const at::Tensor& rows, const at::Tensor& cols, const at::Tensor& values,
                           int64_t n, int64_t m, bool symmetric = false);

// The n × m matrix whose rows are already in CSR order: the entries of row r are
// row_pointers[r] .. row_pointers[r+1] of `cols`/`values` (`rows` repeats r for each), columns
// ascending within a row, no duplicates. Cheaper than sparse_matrix: one sort, for the transpose.
SparseMatrix csr_matrix(const at::Tensor& row_pointers, const at::Tensor& rows,
                        const at::Tensor& cols, const at::Tensor& values, int64_t m);

// A · X for X [m, f] -> [n, f]; gradient to X through Aᵀ.
at::Tensor sparse_matmul(const SparseMatrix& a, const at::Tensor& x);

}  // namespace polyphony
