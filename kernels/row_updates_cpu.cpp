// CPU path of the row-wise optimiser updates: one pass per updated row that reads the row, its
// gradient and its state once and writes them once, rows in parallel (they are distinct, so no
// two threads write one row). Each row's loop has restrict-qualified pointers and no calls, so
// the compiler vectorises it for the variant's instruction set (sqrt without errno: see
// cmake/CpuVariants.cmake).

#include <ATen/Parallel.h>

#include <cmath>
#include <cstddef>

#include "kernels/cpu_variant.h"
#include "kernels/row_updates_kernels.h"

namespace polyphony::kernels {
namespace {

// The rows of a large table lie all over memory, so each costs cache and TLB misses: asking for
// the row kAhead rows on while this one is computed hides most of that latency (16 measured
// against 4 and 8 on a 1 M-row table: docs/benchmarks.md).
constexpr int64_t kAhead = 16;
constexpr int64_t kLine = 64;
constexpr int64_t kGrain = 256;

template <typename T, typename... Tables>
void prefetch_row(const int64_t* index, const RowUpdateSizes& s, int64_t i, Tables*... tables) {
  if (!index || i + kAhead >= s.n) return;
  const int64_t offset = index[i + kAhead] * s.d;
  const int64_t bytes = s.d * static_cast<int64_t>(sizeof(T));
  for (int64_t byte = 0; byte < bytes; byte += kLine)
    (__builtin_prefetch(reinterpret_cast<const char*>(tables + offset) + byte, 1), ...);
}

// Calls row(table offset, gradient offset) for every updated row, in parallel.
template <typename Row>
void for_each_row(const int64_t* index, const RowUpdateSizes& s, const Row& row) {
  at::parallel_for(0, s.n, kGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) row(i, (index ? index[i] : i) * s.d, i * s.d);
  });
}

template <typename T>
struct AdamCoefficients {
  T b1, b2, eps, step_size, root_correction2, keep, l2;
};

template <typename T>
void adam_row(T* __restrict w, T* __restrict m, T* __restrict v, const T* __restrict g, int64_t d,
              const AdamCoefficients<T> c) {
  for (int64_t j = 0; j < d; ++j) {
    const T gj = g[j] + c.l2 * w[j];
    const T mj = c.b1 * m[j] + (1 - c.b1) * gj;
    const T vj = c.b2 * v[j] + (1 - c.b2) * gj * gj;
    m[j] = mj;
    v[j] = vj;
    w[j] = c.keep * w[j] - c.step_size * mj / (std::sqrt(vj) / c.root_correction2 + c.eps);
  }
}

template <typename T>
void adagrad_row(T* __restrict w, T* __restrict sum, const T* __restrict g, int64_t d, T lr,
                 T weight_decay, T epsilon) {
  T squares = 0;
  for (int64_t j = 0; j < d; ++j) {
    const T gj = g[j] + weight_decay * w[j];
    squares += gj * gj;
  }
  *sum += squares / static_cast<T>(d);
  const T scale = lr / (std::sqrt(*sum) + epsilon);
  for (int64_t j = 0; j < d; ++j) w[j] -= scale * (g[j] + weight_decay * w[j]);
}

template <typename T>
void sgd_row(T* __restrict w, T* __restrict b, const T* __restrict g, int64_t d, T lr, T momentum,
             T weight_decay) {
  for (int64_t j = 0; j < d; ++j) {
    const T step = momentum * b[j] + (g[j] + weight_decay * w[j]);
    b[j] = step;
    w[j] -= lr * step;
  }
}

template <typename T>
void plain_sgd_row(T* __restrict w, const T* __restrict g, int64_t d, T lr, T weight_decay) {
  for (int64_t j = 0; j < d; ++j) w[j] -= lr * (g[j] + weight_decay * w[j]);
}

}  // namespace

template <CpuCapability C, typename T>
void adam_rows_cpu(T* table, T* first, T* second, const T* gradient, const int64_t* index,
                   const RowUpdateSizes& s, const AdamRowRule& r) {
  const AdamCoefficients<T> c{static_cast<T>(r.beta1),
                              static_cast<T>(r.beta2),
                              static_cast<T>(r.epsilon),
                              static_cast<T>(r.step_size),
                              static_cast<T>(r.root_correction2),
                              static_cast<T>(r.keep),
                              static_cast<T>(r.l2)};
  for_each_row(index, s, [&](int64_t i, int64_t row, int64_t g) {
    prefetch_row<T>(index, s, i, table, first, second);
    adam_row(table + row, first + row, second + row, gradient + g, s.d, c);
  });
}

template <CpuCapability C, typename T>
void adagrad_rows_cpu(T* table, T* sums, const T* gradient, const int64_t* index,
                      const RowUpdateSizes& s, const AdagradRowRule& r) {
  const T lr = static_cast<T>(r.lr), decay = static_cast<T>(r.weight_decay),
          eps = static_cast<T>(r.epsilon);
  for_each_row(index, s, [&](int64_t i, int64_t row, int64_t g) {
    prefetch_row<T>(index, s, i, table);
    adagrad_row(table + row, sums + row / s.d, gradient + g, s.d, lr, decay, eps);
  });
}

template <CpuCapability C, typename T>
void sgd_rows_cpu(T* table, T* buffer, const T* gradient, const int64_t* index,
                  const RowUpdateSizes& s, const SgdRowRule& r) {
  const T lr = static_cast<T>(r.lr), momentum = static_cast<T>(r.momentum),
          decay = static_cast<T>(r.weight_decay);
  for_each_row(index, s, [&](int64_t i, int64_t row, int64_t g) {
    if (buffer) {
      prefetch_row<T>(index, s, i, table, buffer);
      sgd_row(table + row, buffer + row, gradient + g, s.d, lr, momentum, decay);
    } else {
      prefetch_row<T>(index, s, i, table);
      plain_sgd_row(table + row, gradient + g, s.d, lr, decay);
    }
  });
}

#define POLYPHONY_ROW_UPDATES_CPU(T)                                                          \
  template void adam_rows_cpu<kThisCpuVariant, T>(T*, T*, T*, const T*, const int64_t*,       \
                                                  const RowUpdateSizes&, const AdamRowRule&); \
  template void adagrad_rows_cpu<kThisCpuVariant, T>(                                         \
      T*, T*, const T*, const int64_t*, const RowUpdateSizes&, const AdagradRowRule&);        \
  template void sgd_rows_cpu<kThisCpuVariant, T>(T*, T*, const T*, const int64_t*,            \
                                                 const RowUpdateSizes&, const SgdRowRule&);
POLYPHONY_ROW_UPDATES_CPU(float)
POLYPHONY_ROW_UPDATES_CPU(double)
#undef POLYPHONY_ROW_UPDATES_CPU

}  // namespace polyphony::kernels
