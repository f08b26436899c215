// CPU path of the CSR × dense product: output rows in parallel (at::parallel_for), each the sum
// of its entries' rows of X in CSR order, so the result does not depend on the thread count.

#include <ATen/Parallel.h>

#include <algorithm>

#include "kernels/cpu_variant.h"
#include "kernels/csr_matmul_kernels.h"

namespace polyphony::kernels {
namespace {

// Sums in at most 8 registers per pass: at d = 64 a float row is one AVX2 pass, read whole
// per entry (a slice of 16 floats per pass, summed from a float array, ran at 0.6× the speed:
// docs/benchmarks.md).
constexpr int kMaxVectorsPerPass = 8;
// Entries ahead whose rows of X are prefetched: the rows are scattered over X, out of reach of
// the hardware prefetcher.
constexpr int64_t kPrefetchDistance = 16;

// out[r, j0 : j0 + kVectors · lanes] for rows [begin, end), summed in registers.
template <int kVectors, typename T>
void accumulate_vectors(const int64_t* row_pointers, const int64_t* columns, const T* values,
                        const T* x, int64_t f, int64_t j0, int64_t begin, int64_t end, T* out) {
  const int64_t entries = row_pointers[end];
  for (int64_t r = begin; r < end; ++r) {
    Vector<T> sum[kVectors] = {};
    for (int64_t e = row_pointers[r]; e < row_pointers[r + 1]; ++e) {
      if (e + kPrefetchDistance < entries) {
        const char* ahead =
            reinterpret_cast<const char*>(x + columns[e + kPrefetchDistance] * f + j0);
        for (int64_t byte = 0; byte < kVectors * kVectorBytes; byte += 64)
          __builtin_prefetch(ahead + byte);
      }
      const T w = values[e];
      const T* source = x + columns[e] * f + j0;
      for (int k = 0; k < kVectors; ++k) sum[k] += w * load_vector(source + k * kLanes<T>);
    }
    for (int k = 0; k < kVectors; ++k) store_vector(out + r * f + j0 + k * kLanes<T>, sum[k]);
  }
}

// The last f mod lanes features, fewer than a register holds.
template <typename T>
void accumulate_tail(const int64_t* row_pointers, const int64_t* columns, const T* values,
                     const T* x, int64_t f, int64_t j0, int64_t begin, int64_t end, T* out) {
  const int64_t width = f - j0;
  for (int64_t r = begin; r < end; ++r) {
    T sum[kLanes<T>] = {};
    for (int64_t e = row_pointers[r]; e < row_pointers[r + 1]; ++e) {
      const T w = values[e];
      const T* source = x + columns[e] * f + j0;
      for (int64_t j = 0; j < width; ++j) sum[j] += w * source[j];
    }
    std::copy(sum, sum + width, out + r * f + j0);
  }
}

// Passes of kVectors registers over features [j0, …) while a whole pass fits; returns where they
// stopped.
template <int kVectors, typename T>
int64_t accumulate_passes(const int64_t* row_pointers, const int64_t* columns, const T* values,
                          const T* x, int64_t f, int64_t j0, int64_t begin, int64_t end, T* out) {
  for (; j0 + kVectors * kLanes<T> <= f; j0 += kVectors * kLanes<T>)
    accumulate_vectors<kVectors>(row_pointers, columns, values, x, f, j0, begin, end, out);
  return j0;
}

// Rows [begin, end), all features: passes of 8, 4, 2 and 1 registers, then the tail.
template <typename T>
void accumulate_rows(const int64_t* row_pointers, const int64_t* columns, const T* values,
                     const T* x, int64_t f, int64_t begin, int64_t end, T* out) {
  int64_t j0 = 0;
  j0 = accumulate_passes<kMaxVectorsPerPass>(row_pointers, columns, values, x, f, j0, begin, end,
                                             out);
  j0 = accumulate_passes<4>(row_pointers, columns, values, x, f, j0, begin, end, out);
  j0 = accumulate_passes<2>(row_pointers, columns, values, x, f, j0, begin, end, out);
  j0 = accumulate_passes<1>(row_pointers, columns, values, x, f, j0, begin, end, out);
  if (j0 < f) accumulate_tail(row_pointers, columns, values, x, f, j0, begin, end, out);
}

}  // namespace

template <CpuCapability C, typename T>
void csr_matmul_cpu(const int64_t* row_pointers, const int64_t* columns, const T* values,
                    const T* x, const CsrMatmulSizes& s, T* out) {
  const int64_t entries = row_pointers[s.rows];
  if (entries == 0) {
    std::fill(out, out + s.rows * s.features, T(0));
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
    accumulate_rows(row_pointers, columns, values, x, s.features, first, last, out);
  });
}

template void csr_matmul_cpu<kThisCpuVariant, float>(const int64_t*, const int64_t*, const float*,
                                                     const float*, const CsrMatmulSizes&, float*);
template void csr_matmul_cpu<kThisCpuVariant, double>(const int64_t*, const int64_t*, const double*,
                                                      const double*, const CsrMatmulSizes&,
                                                      double*);

}  // namespace polyphony::kernels
