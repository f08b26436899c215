// CPU path of the row-wise optimiser updates: one pass per updated row that reads the row, its
// gradient and its state once and writes them once, rows in parallel (they are distinct, so no
// two threads write one row). Each row's loop has restrict-qualified pointers and no calls, so
// the compiler vectorises it for the variant's instruction set (sqrt without errno: see
// cmake/CpuVariants.cmake). Each pass also tells whether every value it wrote to the table is
// finite, so that a trainer need not scan a table of millions of rows for a divergence.

#include <ATen/Parallel.h>

#include <atomic>
#include <cmath>
#include <cstddef>
#include <limits>

#include "kernels/cpu_variant.h"
#include "kernels/row_updates_kernels.h"

namespace polyphony::kernels {
namespace {

// The rows of a large table lie all over memory, so each costs cache and TLB misses: asking for
// the row kAhead rows on while this one is computed hides part of that latency
// (docs/benchmarks.md).
constexpr int64_t kAhead = 16;
constexpr int64_t kLine = 64;
constexpr int64_t kGrain = 256;

// The table offset of the row kAhead rows on, or -1 when there is none to ask for.
int64_t offset_ahead(const int64_t* index, const RowUpdateSizes& s, int64_t i) {
  return index && i + kAhead < s.n ? index[i + kAhead] * s.d : -1;
}

// Asks for the d values at `row`. One call per table: GCC 12 removed the prefetch loop of a helper
// folding over a pack of tables as dead code, and the kernel then had none (docs/benchmarks.md).
template <typename T>
void prefetch_row(const T* row, int64_t d) {
  const auto* bytes = reinterpret_cast<const char*>(row);
  for (int64_t byte = 0; byte < d * static_cast<int64_t>(sizeof(T)); byte += kLine)
    __builtin_prefetch(bytes + byte, 1);
}

// 1 for ±Inf and NaN: a comparison the row loops vectorise (std::isfinite is a call).
template <typename T>
int non_finite(T x) {
  return !(std::abs(x) <= std::numeric_limits<T>::max());
}

// Calls row(i, table offset, gradient offset) for every updated row, in parallel; a call returns
// nonzero when it wrote a non-finite value to the table. True when none did.
template <typename Row>
bool for_each_row(const int64_t* index, const RowUpdateSizes& s, const Row& row) {
  std::atomic<bool> finite{true};
  at::parallel_for(0, s.n, kGrain, [&](int64_t begin, int64_t end) {
    int bad = 0;
    for (int64_t i = begin; i < end; ++i) bad |= row(i, (index ? index[i] : i) * s.d, i * s.d);
    if (bad) finite.store(false, std::memory_order_relaxed);
  });
  return finite.load(std::memory_order_relaxed);
}

template <typename T>
struct AdamCoefficients {
  T b1, b2, eps, step_size, root_correction2, keep, l2;
};

template <typename T>
int adam_row(T* __restrict w, T* __restrict m, T* __restrict v, const T* __restrict g, int64_t d,
             const AdamCoefficients<T> c) {
  int bad = 0;
  for (int64_t j = 0; j < d; ++j) {
    const T gj = g[j] + c.l2 * w[j];
    const T mj = c.b1 * m[j] + (1 - c.b1) * gj;
    const T vj = c.b2 * v[j] + (1 - c.b2) * gj * gj;
    m[j] = mj;
    v[j] = vj;
    w[j] = c.keep * w[j] - c.step_size * mj / (std::sqrt(vj) / c.root_correction2 + c.eps);
    bad |= non_finite(w[j]);
  }
  return bad;
}

template <typename T>
int adagrad_row(T* __restrict w, T* __restrict sum, const T* __restrict g, int64_t d, T lr,
                T weight_decay, T epsilon) {
  T squares = 0;
  for (int64_t j = 0; j < d; ++j) {
    const T gj = g[j] + weight_decay * w[j];
    squares += gj * gj;
  }
  *sum += squares / static_cast<T>(d);
  const T scale = lr / (std::sqrt(*sum) + epsilon);
  int bad = 0;
  for (int64_t j = 0; j < d; ++j) {
    w[j] -= scale * (g[j] + weight_decay * w[j]);
    bad |= non_finite(w[j]);
  }
  return bad;
}

template <typename T>
int sgd_row(T* __restrict w, T* __restrict b, const T* __restrict g, int64_t d, T lr, T momentum,
            T weight_decay) {
  int bad = 0;
  for (int64_t j = 0; j < d; ++j) {
    const T step = momentum * b[j] + (g[j] + weight_decay * w[j]);
    b[j] = step;
    w[j] -= lr * step;
    bad |= non_finite(w[j]);
  }
  return bad;
}

template <typename T>
int plain_sgd_row(T* __restrict w, const T* __restrict g, int64_t d, T lr, T weight_decay) {
  int bad = 0;
  for (int64_t j = 0; j < d; ++j) {
    w[j] -= lr * (g[j] + weight_decay * w[j]);
    bad |= non_finite(w[j]);
  }
  return bad;
}

}  // namespace

template <CpuCapability C, typename T>
bool adam_rows_cpu(T* table, T* first, T* second, const T* gradient, const int64_t* index,
                   const RowUpdateSizes& s, const AdamRowRule& r) {
  const AdamCoefficients<T> c{static_cast<T>(r.beta1),
                              static_cast<T>(r.beta2),
                              static_cast<T>(r.epsilon),
                              static_cast<T>(r.step_size),
                              static_cast<T>(r.root_correction2),
                              static_cast<T>(r.keep),
                              static_cast<T>(r.l2)};
  return for_each_row(index, s, [&](int64_t i, int64_t row, int64_t g) {
    if (const int64_t ahead = offset_ahead(index, s, i); ahead >= 0) {
      prefetch_row(table + ahead, s.d);
      prefetch_row(first + ahead, s.d);
      prefetch_row(second + ahead, s.d);
    }
    return adam_row(table + row, first + row, second + row, gradient + g, s.d, c);
  });
}

template <CpuCapability C, typename T>
bool adagrad_rows_cpu(T* table, T* sums, const T* gradient, const int64_t* index,
                      const RowUpdateSizes& s, const AdagradRowRule& r) {
  const T lr = static_cast<T>(r.lr), decay = static_cast<T>(r.weight_decay),
          eps = static_cast<T>(r.epsilon);
  return for_each_row(index, s, [&](int64_t i, int64_t row, int64_t g) {
    if (const int64_t ahead = offset_ahead(index, s, i); ahead >= 0)
      prefetch_row(table + ahead, s.d);
    return adagrad_row(table + row, sums + row / s.d, gradient + g, s.d, lr, decay, eps);
  });
}

template <CpuCapability C, typename T>
bool sgd_rows_cpu(T* table, T* buffer, const T* gradient, const int64_t* index,
                  const RowUpdateSizes& s, const SgdRowRule& r) {
  const T lr = static_cast<T>(r.lr), momentum = static_cast<T>(r.momentum),
          decay = static_cast<T>(r.weight_decay);
  return for_each_row(index, s, [&](int64_t i, int64_t row, int64_t g) {
    const int64_t ahead = offset_ahead(index, s, i);
    if (ahead >= 0) prefetch_row(table + ahead, s.d);
    if (buffer) {
      if (ahead >= 0) prefetch_row(buffer + ahead, s.d);
      return sgd_row(table + row, buffer + row, gradient + g, s.d, lr, momentum, decay);
    }
    return plain_sgd_row(table + row, gradient + g, s.d, lr, decay);
  });
}

#define POLYPHONY_ROW_UPDATES_CPU(T)                                                          \
  template bool adam_rows_cpu<kThisCpuVariant, T>(T*, T*, T*, const T*, const int64_t*,       \
                                                  const RowUpdateSizes&, const AdamRowRule&); \
  template bool adagrad_rows_cpu<kThisCpuVariant, T>(                                         \
      T*, T*, const T*, const int64_t*, const RowUpdateSizes&, const AdagradRowRule&);        \
  template bool sgd_rows_cpu<kThisCpuVariant, T>(T*, T*, const T*, const int64_t*,            \
                                                 const RowUpdateSizes&, const SgdRowRule&);
POLYPHONY_ROW_UPDATES_CPU(float)
POLYPHONY_ROW_UPDATES_CPU(double)
#undef POLYPHONY_ROW_UPDATES_CPU

}  // namespace polyphony::kernels
