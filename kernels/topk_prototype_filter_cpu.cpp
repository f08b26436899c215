// CPU path of the top-k prototype filter: rows in parallel (at::parallel_for); the prototype
// gradient is summed per fixed row chunk and the chunks added in order, so it needs no atomics
// and its summation order does not depend on the number of threads.

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>
#include <vector>

#include "kernels/cpu_variant.h"
#include "kernels/topk_prototype_filter_kernels.h"

namespace polyphony::kernels {
namespace {

// Row chunks of the prototype gradient: enough for the cores of one machine, few enough that
// their [L, dim] partial sums stay small (16 × 1024 × 513 floats at most), and none for a small
// batch to zero needlessly.
constexpr int64_t kMaxPrototypeGradientChunks = 16;
constexpr int64_t kRowsPerChunk = 1024;

template <typename T>
T dot(const T* a, const T* b, int64_t n) {
  T sum = 0;
  for (int64_t j = 0; j < n; ++j) sum += a[j] * b[j];
  return sum;
}

// 1 / max(‖x_r‖, eps) for each row r of x [rows, dim].
template <typename T>
std::vector<T> inverse_norms(const T* x, int64_t rows, int64_t dim) {
  std::vector<T> out(rows);
  at::parallel_for(0, rows, 256, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const T norm = std::sqrt(dot(x + r * dim, x + r * dim, dim));
      out[r] = T(1) / std::max(norm, static_cast<T>(kNormEps));
    }
  });
  return out;
}

// The rows of x scaled to unit length (by their clamped norms), [rows, dim], or transposed to
// [dim, stride] with zeros in the columns past `rows`.
template <typename T>
std::vector<T> unit_rows(const T* x, const std::vector<T>& inv_norms, int64_t dim, bool transpose,
                         int64_t stride = 0) {
  const auto rows = static_cast<int64_t>(inv_norms.size());
  std::vector<T> out(transpose ? dim * stride : rows * dim, T(0));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t f = 0; f < dim; ++f)
      out[transpose ? f * stride + r : r * dim + f] = x[r * dim + f] * inv_norms[r];
  return out;
}

// The k first of sim[0, L) in the filter's order: offered one by one to a sorted list of k.
template <typename T>
void select_top_k(const T* sim, int64_t prototypes, int64_t k, T* values, int64_t* indices) {
  int64_t kept = 0;
  for (int64_t l = 0; l < prototypes; ++l)
    kept = offer_to_top_k<T, int64_t>(sim[l], l, values, indices, 1, kept, k);
}

// The same selection for a row without NaN, where the filter's order is "larger value first, then
// lower index": a value enters only when larger than the one it passes (every index already kept
// is lower), so one comparison per step instead of the NaN cases of ranks_before.
template <typename T>
void select_top_k_of_numbers(const T* sim, int64_t prototypes, int64_t k, T* values,
                             int64_t* indices) {
  int64_t kept = 0;
  for (int64_t l = 0; l < prototypes; ++l) {
    const T v = sim[l];
    if (kept == k && !(v > values[k - 1])) continue;
    int64_t j = kept < k ? kept++ : k - 1;
    for (; j > 0 && v > values[j - 1]; --j) {
      values[j] = values[j - 1];
      indices[j] = indices[j - 1];
    }
    values[j] = v;
    indices[j] = l;
  }
}

// An unsigned integer whose order is the numbers' order (-0 and +0 alike; not for NaN).
template <typename T>
using OrderKey = std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>;

template <typename T>
OrderKey<T> order_key(T v) {
  using Key = OrderKey<T>;
  constexpr Key kSign = Key(1) << (8 * sizeof(Key) - 1);
  const T canonical = v + T(0);  // -0 + 0 = +0
  Key bits;
  std::memcpy(&bits, &canonical, sizeof bits);
  return (bits & kSign) ? ~bits : bits | kSign;
}

// How many of keys[0, vectors · lanes) are at least `bound`.
template <typename Key>
int64_t count_at_least(const Key* keys, int64_t vectors, Key bound) {
  using Mask = decltype(Vector<Key>{} >= Key{});  // -1 where true
  Mask count = {};
  for (int64_t q = 0; q < vectors; ++q) count += load_vector(keys + q * kLanes<Key>) >= bound;
  int64_t total = 0;
  for (int64_t lane = 0; lane < kLanes<Key>; ++lane) total -= count[lane];  // true is -1
  return total;
}

// The same kept entries as select_top_k_of_numbers, in prototype order instead of sorted, without
// a data-dependent branch (the insertions' mispredictions were most of the forward's time at
// k = 25 of L = 43: docs/benchmarks.md). The k-th largest key is found bit by bit from the top,
// counting the keys at or above each candidate; then the row is kept in one pass: the keys above
// it, and of those equal to it the lowest indices. `keys` holds the row's keys and zeros up to a
// whole number of vectors; `scratch_values` and `scratch_indices` room for L + 1 entries.
template <typename T>
void select_top_k_in_index_order(const T* sim, const OrderKey<T>* keys, int64_t prototypes,
                                 int64_t k, T* scratch_values, int64_t* scratch_indices, T* values,
                                 int64_t* indices) {
  using Key = OrderKey<T>;
  const int64_t vectors = (prototypes + kLanes<Key> - 1) / kLanes<Key>;
  Key kth = 0;  // every number's key is above 0, so the zeros of the padding never count
  for (int bit = 8 * sizeof(Key) - 1; bit >= 0; --bit) {
    const Key candidate = kth | (Key(1) << bit);
    kth = count_at_least(keys, vectors, candidate) >= k ? candidate : kth;
  }
  const int64_t ties_kept = k - count_at_least(keys, vectors, Key(kth + 1));
  // Each entry is written at the next free place, which advances only when it is kept.
  int64_t kept = 0, ties = 0;
  for (int64_t l = 0; l < prototypes; ++l) {
    // Bitwise, not logical, operators: no branch for the compiler to take on the comparisons.
    const bool tie = keys[l] == kth;
    const bool keep = (keys[l] > kth) | (tie & (ties < ties_kept));
    ties += tie;
    scratch_values[kept] = sim[l];
    scratch_indices[kept] = l;
    kept += keep;
  }
  std::copy(scratch_values, scratch_values + k, values);
  std::copy(scratch_indices, scratch_indices + k, indices);
}

template <typename T>
bool has_nan(const T* x, int64_t n) {
  bool nan = false;
  for (int64_t l = 0; l < n; ++l) nan |= x[l] != x[l];
  return nan;
}

// sim[l0, l0 + kVectors · lanes) = Σ_f e[f] · columns[f, l], the features in order, the sums in
// registers (a sum per prototype in memory would be loaded and stored once per feature).
template <int kVectors, typename T>
void similarity_vectors(const T* e, const T* columns, int64_t dim, int64_t stride, int64_t l0,
                        T* sim) {
  Vector<T> sum[kVectors] = {};
  for (int64_t f = 0; f < dim; ++f) {
    const T x = e[f];
    const T* column = columns + f * stride + l0;
    for (int k = 0; k < kVectors; ++k) sum[k] += x * load_vector(column + k * kLanes<T>);
  }
  for (int k = 0; k < kVectors; ++k) store_vector(sim + l0 + k * kLanes<T>, sum[k]);
}

// sim[0, stride) in blocks of 8 registers and a last block of the rest, each one pass over the
// features (separate passes of 4, 2 and 1 registers would leave too few sums to hide the
// multiply-adds' latency).
template <typename T>
void similarities(const T* e, const T* columns, int64_t dim, int64_t stride, T* sim) {
  constexpr int kBlock = 8;
  int64_t l0 = 0;
  for (; l0 + kBlock * kLanes<T> <= stride; l0 += kBlock * kLanes<T>)
    similarity_vectors<kBlock>(e, columns, dim, stride, l0, sim);
  using Block = void (*)(const T*, const T*, int64_t, int64_t, int64_t, T*);
  constexpr Block kLastBlock[kBlock] = {nullptr,
                                        similarity_vectors<1, T>,
                                        similarity_vectors<2, T>,
                                        similarity_vectors<3, T>,
                                        similarity_vectors<4, T>,
                                        similarity_vectors<5, T>,
                                        similarity_vectors<6, T>,
                                        similarity_vectors<7, T>};
  if (const int64_t rest = (stride - l0) / kLanes<T>; rest > 0)
    kLastBlock[rest](e, columns, dim, stride, l0, sim);
}

}  // namespace

template <CpuCapability C, typename T>
void topk_filter_forward_cpu(const T* entities, const T* prototypes, const TopkFilterSizes& s,
                             KeptOrder order, T* values, int64_t* indices) {
  // The similarities of one row are a sum of the unit prototypes' columns scaled by the row's
  // features, a loop over prototypes that vectorises (a dot product per prototype would be a
  // reduction). The columns are padded with zeros to a whole number of vectors.
  const int64_t stride = (s.prototypes + kLanes<T> - 1) / kLanes<T> * kLanes<T>;
  const auto columns =
      unit_rows(prototypes, inverse_norms(prototypes, s.prototypes, s.dim), s.dim, true, stride);
  at::parallel_for(0, s.rows, 64, [&](int64_t begin, int64_t end) {
    std::vector<T> sim(stride);
    std::vector<OrderKey<T>> keys(stride, 0);
    std::vector<T> scratch_values(s.prototypes + 1);
    std::vector<int64_t> scratch_indices(s.prototypes + 1);
    for (int64_t n = begin; n < end; ++n) {
      const T* e = entities + n * s.dim;
      similarities(e, columns.data(), s.dim, stride, sim.data());
      const T a = T(1) / std::max(std::sqrt(dot(e, e, s.dim)), static_cast<T>(kNormEps));
      for (int64_t l = 0; l < s.prototypes; ++l) sim[l] = T(1) + sim[l] * a;
      T* row_values = values + n * s.k;
      int64_t* row_indices = indices + n * s.k;
      if (has_nan(sim.data(), s.prototypes)) {
        select_top_k(sim.data(), s.prototypes, s.k, row_values, row_indices);
      } else if (order == KeptOrder::kDescending) {
        select_top_k_of_numbers(sim.data(), s.prototypes, s.k, row_values, row_indices);
      } else {
        for (int64_t l = 0; l < s.prototypes; ++l) keys[l] = order_key(sim[l]);
        select_top_k_in_index_order(sim.data(), keys.data(), s.prototypes, s.k,
                                    scratch_values.data(), scratch_indices.data(), row_values,
                                    row_indices);
      }
    }
  });
}

template <CpuCapability C, typename T>
void topk_filter_backward_cpu(const T* grad_values, const T* values, const int64_t* indices,
                              const T* entities, const T* prototypes, const TopkFilterSizes& s,
                              T* grad_entities, T* grad_prototypes) {
  const auto e_inv = inverse_norms(entities, s.rows, s.dim);
  const auto p_inv = inverse_norms(prototypes, s.prototypes, s.dim);
  const auto unit_prototypes = unit_rows(prototypes, p_inv, s.dim, false);
  const T eps = static_cast<T>(kNormEps);
  // d cos(e, p) / d e = a (p̂ − cos · ê) with a = 1/‖e‖; when the norm is clamped, a is a constant
  // and the projection term drops out. Same for p.
  at::parallel_for(0, s.rows, 64, [&](int64_t begin, int64_t end) {
    std::vector<T> acc(s.dim);
    for (int64_t n = begin; n < end; ++n) {
      std::fill(acc.begin(), acc.end(), T(0));
      T weighted_cos = 0;
      for (int64_t j = 0; j < s.k; ++j) {
        const T g = grad_values[n * s.k + j];
        weighted_cos += g * (values[n * s.k + j] - T(1));
        const T* p = unit_prototypes.data() + indices[n * s.k + j] * s.dim;
        for (int64_t f = 0; f < s.dim; ++f) acc[f] += g * p[f];
      }
      const T a = e_inv[n];
      const T projection = T(1) / a <= eps ? T(0) : weighted_cos * a;
      const T* e = entities + n * s.dim;
      T* out = grad_entities + n * s.dim;
      for (int64_t f = 0; f < s.dim; ++f) out[f] = a * (acc[f] - projection * e[f]);
    }
  });

  // Prototype side: each of a fixed number of row chunks sums its kept entries into its own
  // [L, dim] buffer in one pass over its rows (no atomics, no gathers), then the chunks are added
  // in chunk order, so the result does not depend on the number of threads.
  const int64_t chunks =
      std::clamp<int64_t>(s.rows / kRowsPerChunk, 1, kMaxPrototypeGradientChunks);
  const int64_t width = s.dim + 1;  // dim sums and the weighted cosine
  std::vector<T> partial(chunks * s.prototypes * width, T(0));
  at::parallel_for(0, chunks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t c = begin; c < end; ++c) {
      T* acc = partial.data() + c * s.prototypes * width;
      for (int64_t n = c * s.rows / chunks; n < (c + 1) * s.rows / chunks; ++n) {
        const T* e = entities + n * s.dim;
        for (int64_t j = 0; j < s.k; ++j) {
          const int64_t t = n * s.k + j;
          T* sum = acc + indices[t] * width;
          const T g = grad_values[t];
          const T scale = g * e_inv[n];
          for (int64_t f = 0; f < s.dim; ++f) sum[f] += scale * e[f];
          sum[s.dim] += g * (values[t] - T(1));
        }
      }
    }
  });
  at::parallel_for(0, s.prototypes, 8, [&](int64_t begin, int64_t end) {
    std::vector<T> acc(width);
    for (int64_t l = begin; l < end; ++l) {
      std::fill(acc.begin(), acc.end(), T(0));
      for (int64_t c = 0; c < chunks; ++c) {
        const T* sum = partial.data() + (c * s.prototypes + l) * width;
        for (int64_t f = 0; f < width; ++f) acc[f] += sum[f];
      }
      const T b = p_inv[l];
      const T projection = T(1) / b <= eps ? T(0) : acc[s.dim] * b;
      const T* p = prototypes + l * s.dim;
      T* out = grad_prototypes + l * s.dim;
      for (int64_t f = 0; f < s.dim; ++f) out[f] = b * (acc[f] - projection * p[f]);
    }
  });
}

template void topk_filter_forward_cpu<kThisCpuVariant, float>(const float*, const float*,
                                                              const TopkFilterSizes&, KeptOrder,
                                                              float*, int64_t*);
template void topk_filter_forward_cpu<kThisCpuVariant, double>(const double*, const double*,
                                                               const TopkFilterSizes&, KeptOrder,
                                                               double*, int64_t*);
template void topk_filter_backward_cpu<kThisCpuVariant, float>(const float*, const float*,
                                                               const int64_t*, const float*,
                                                               const float*, const TopkFilterSizes&,
                                                               float*, float*);
template void topk_filter_backward_cpu<kThisCpuVariant, double>(const double*, const double*,
                                                                const int64_t*, const double*,
                                                                const double*,
                                                                const TopkFilterSizes&, double*,
                                                                double*);

}  // namespace polyphony::kernels
