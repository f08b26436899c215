#pragma once
// Raw CPU kernel of the CSR × dense product (kernels/csr_matmul.h): no Torch types.
// row_pointers [rows + 1], columns and values [row_pointers[rows]] (CSR), x [cols, features] and
// out [rows, features] row-major and contiguous; every column index lies in [0, cols).

#include <cstdint>

#include "kernels/cpu_capability.h"

namespace polyphony::kernels {

struct CsrMatmulSizes {
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t features = 0;
};

// out[r] = Σ_e values[e] · x[columns[e]] over row r's entries, in CSR order; compiled once per
// CpuCapability (kernels/cpu_capability.h).
template <CpuCapability C, typename T>
void csr_matmul_cpu(const int64_t* row_pointers, const int64_t* columns, const T* values,
                    const T* x, const CsrMatmulSizes& sizes, T* out);

}  // namespace polyphony::kernels
