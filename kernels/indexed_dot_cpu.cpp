// CPU path of the indexed dot product: rows in parallel for the scores and the rows' gradient;
// the table's gradient per table row over the pairs that name it, listed by one counting sort of
// the pairs, so it needs no atomics and its summation order does not depend on the thread count.

#include <ATen/Parallel.h>

#include <algorithm>

#include "kernels/cpu_variant.h"
#include "kernels/entries_by_row.h"
#include "kernels/indexed_dot_kernels.h"

namespace polyphony::kernels {

template <CpuCapability C, typename T>
void indexed_dot_forward_cpu(const T* rows, const T* table, const int64_t* index,
                             const IndexedDotSizes& s, T* out) {
  const int64_t f = s.features;
  at::parallel_for(0, s.rows, 16, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b)
      for (int64_t j = 0; j < s.slots; ++j)
        out[b * s.slots + j] = vector_dot(rows + b * f, table + index[b * s.slots + j] * f, f);
  });
}

template <CpuCapability C, typename T>
void indexed_dot_backward_cpu(const T* grad, const T* rows, const T* table, const int64_t* index,
                              const IndexedDotSizes& s, T* grad_rows, T* grad_table) {
  const int64_t f = s.features;
  at::parallel_for(0, s.rows, 16, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      T* out = grad_rows + b * f;
      std::fill(out, out + f, T(0));
      for (int64_t j = 0; j < s.slots; ++j)
        add_scaled(out, grad[b * s.slots + j], table + index[b * s.slots + j] * f, f);
    }
  });

  const auto by_row = group_entries_by_row(index, s.rows * s.slots, s.table_rows);
  at::parallel_for(0, s.table_rows, 64, [&](int64_t begin, int64_t end) {
    for (int64_t d = begin; d < end; ++d) {
      T* out = grad_table + d * f;
      std::fill(out, out + f, T(0));
      for (int64_t k = by_row.first[d]; k < by_row.first[d + 1]; ++k) {
        const int64_t pair = by_row.entries[k];
        add_scaled(out, grad[pair], rows + pair / s.slots * f, f);
      }
    }
  });
}

template void indexed_dot_forward_cpu<kThisCpuVariant, float>(const float*, const float*,
                                                              const int64_t*,
                                                              const IndexedDotSizes&, float*);
template void indexed_dot_forward_cpu<kThisCpuVariant, double>(const double*, const double*,
                                                               const int64_t*,
                                                               const IndexedDotSizes&, double*);
template void indexed_dot_backward_cpu<kThisCpuVariant, float>(const float*, const float*,
                                                               const float*, const int64_t*,
                                                               const IndexedDotSizes&, float*,
                                                               float*);
template void indexed_dot_backward_cpu<kThisCpuVariant, double>(const double*, const double*,
                                                                const double*, const int64_t*,
                                                                const IndexedDotSizes&, double*,
                                                                double*);

}  // namespace polyphony::kernels
