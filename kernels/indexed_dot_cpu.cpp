// CPU path of the indexed dot product: rows in parallel for the scores and the rows' gradient;
// the table's gradient per table row over the pairs that name it, listed by one counting sort of
// the pairs, so it needs no atomics and its summation order does not depend on the thread count.

#include <ATen/Parallel.h>

#include <algorithm>
#include <vector>

#include "kernels/cpu_variant.h"
#include "kernels/indexed_dot_kernels.h"

namespace polyphony::kernels {
namespace {

// Partial sums of a dot product: a fixed-length loop over lanes the compiler vectorises (it may
// not reorder one running sum), added up in a fixed order.
constexpr int64_t kPartialSums = 16;

template <typename T>
T dot(const T* __restrict a, const T* __restrict b, int64_t n) {
  T lanes[kPartialSums] = {};
  int64_t f = 0;
  for (; f + kPartialSums <= n; f += kPartialSums)
    for (int64_t l = 0; l < kPartialSums; ++l) lanes[l] += a[f + l] * b[f + l];
  T sum = 0;
  for (; f < n; ++f) sum += a[f] * b[f];
  for (int64_t l = 0; l < kPartialSums; ++l) sum += lanes[l];
  return sum;
}

template <typename T>
void add_scaled(T* __restrict out, T scale, const T* __restrict x, int64_t n) {
  for (int64_t f = 0; f < n; ++f) out[f] += scale * x[f];
}

}  // namespace

template <CpuCapability C, typename T>
void indexed_dot_forward_cpu(const T* rows, const T* table, const int64_t* index,
                             const IndexedDotSizes& s, T* out) {
  const int64_t f = s.features;
  at::parallel_for(0, s.rows, 16, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b)
      for (int64_t j = 0; j < s.slots; ++j)
        out[b * s.slots + j] = dot(rows + b * f, table + index[b * s.slots + j] * f, f);
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

  // The pairs of each table row, in pair order: first[d] .. first[d + 1] in `pairs`.
  const int64_t pair_count = s.rows * s.slots;
  std::vector<int64_t> first(s.table_rows + 1, 0);
  for (int64_t p = 0; p < pair_count; ++p) ++first[index[p] + 1];
  for (int64_t d = 0; d < s.table_rows; ++d) first[d + 1] += first[d];
  std::vector<int64_t> pairs(pair_count);
  std::vector<int64_t> next(first.begin(), first.end() - 1);
  for (int64_t p = 0; p < pair_count; ++p) pairs[next[index[p]]++] = p;

  at::parallel_for(0, s.table_rows, 64, [&](int64_t begin, int64_t end) {
    for (int64_t d = begin; d < end; ++d) {
      T* out = grad_table + d * f;
      std::fill(out, out + f, T(0));
      for (int64_t k = first[d]; k < first[d + 1]; ++k)
        add_scaled(out, grad[pairs[k]], rows + pairs[k] / s.slots * f, f);
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
