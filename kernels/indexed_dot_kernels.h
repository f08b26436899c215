#pragma once
// Raw CPU kernels of the indexed dot product (kernels/indexed_dot.h): no Torch types. rows [B, F],
// table [D, F], index [B, n] (each in [0, D)), out and grad [B, n], all row-major and contiguous.

#include <cstdint>

#include "kernels/cpu_capability.h"

namespace polyphony::kernels {

struct IndexedDotSizes {
  int64_t rows = 0;        // B
  int64_t slots = 0;       // n per row
  int64_t table_rows = 0;  // D
  int64_t features = 0;    // F
};

// out[b, j] = ⟨rows[b], table[index[b, j]]⟩; compiled once per CpuCapability.
template <CpuCapability C, typename T>
void indexed_dot_forward_cpu(const T* rows, const T* table, const int64_t* index,
                             const IndexedDotSizes& sizes, T* out);

// grad_rows[b] = Σ_j grad[b, j] · table[index[b, j]] and grad_table[d] = Σ over the pairs (b, j)
// that name d, in pair order, of grad[b, j] · rows[b] (zero for a row no pair names).
template <CpuCapability C, typename T>
void indexed_dot_backward_cpu(const T* grad, const T* rows, const T* table, const int64_t* index,
                              const IndexedDotSizes& sizes, T* grad_rows, T* grad_table);

}  // namespace polyphony::kernels
