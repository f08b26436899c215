// CPU path of the CSR × dense product: output rows in parallel (at::parallel_for), each the sum
// of its entries' rows of X in CSR order, so the result does not depend on the thread count.

#include <ATen/Parallel.h>

#include <algorithm>

#include "kernels/cpu_variant.h"
#include "kernels/csr_matmul_kernels.h"

namespace polyphony::kernels {
namespace {

// Features per pass: one 64-byte cache line of floats. A row of X is read once per entry that
// names it, all over X; a pass reads only this slice of every row, so the slices of a graph's
// nodes stay in the core's L2 cache (10 k nodes × 64 B) where whole rows (256 B at d = 64) would
// come from L3 each time (docs/benchmarks.md).
constexpr int64_t kSliceWidth = 16;

// out[r, j0:j0+width] for rows [begin, end), summed in registers over each row's entries.
template <int64_t kWidth, typename T>
void accumulate_slice(const int64_t* row_pointers, const int64_t* columns, const T* values,
                      const T* x, int64_t f, int64_t j0, int64_t width, int64_t begin, int64_t end,
                      T* out) {
  for (int64_t r = begin; r < end; ++r) {
    T sum[kWidth] = {};
    for (int64_t e = row_pointers[r]; e < row_pointers[r + 1]; ++e) {
      const T w = values[e];
      const T* source = x + columns[e] * f + j0;
      // A fixed trip count (the full slice) the compiler unrolls into vector FMAs; the last,
      // narrower slice of a row takes the general loop.
      if constexpr (kWidth == kSliceWidth) {
        for (int64_t j = 0; j < kWidth; ++j) sum[j] += w * source[j];
      } else {
        for (int64_t j = 0; j < width; ++j) sum[j] += w * source[j];
      }
    }
    std::copy(sum, sum + width, out + r * f + j0);
  }
}

}  // namespace

template <CpuCapability C, typename T>
void csr_matmul_cpu(const int64_t* row_pointers, const int64_t* columns, const T* values,
                    const T* x, const CsrMatmulSizes& s, T* out) {
  const int64_t f = s.features;
  const int64_t entries = row_pointers[s.rows];
  if (entries == 0) {
    std::fill(out, out + s.rows * f, T(0));
    return;
  }
  // The threads split the entries, not the rows: a graph's item rows hold many more entries than
  // its user rows. A task takes the rows whose first entry lies in its range (the last task also
  // the empty rows at the end), so every row is computed once, by one task.
  const auto first_row_from = [&](int64_t entry) {
    return std::lower_bound(row_pointers, row_pointers + s.rows, entry) - row_pointers;
  };
  at::parallel_for(0, entries, 4096, [&](int64_t begin, int64_t end) {
    const int64_t first = first_row_from(begin);
    const int64_t last = end == entries ? s.rows : first_row_from(end);
    for (int64_t j0 = 0; j0 < f; j0 += kSliceWidth) {
      const int64_t width = std::min(kSliceWidth, f - j0);
      if (width == kSliceWidth)
        accumulate_slice<kSliceWidth>(row_pointers, columns, values, x, f, j0, width, first, last,
                                      out);
      else
        accumulate_slice<kSliceWidth - 1>(row_pointers, columns, values, x, f, j0, width, first,
                                          last, out);
    }
  });
}

template void csr_matmul_cpu<kThisCpuVariant, float>(const int64_t*, const int64_t*, const float*,
                                                     const float*, const CsrMatmulSizes&, float*);
template void csr_matmul_cpu<kThisCpuVariant, double>(const int64_t*, const int64_t*, const double*,
                                                      const double*, const CsrMatmulSizes&,
                                                      double*);

}  // namespace polyphony::kernels
