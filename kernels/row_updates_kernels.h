#pragma once
// Raw CPU kernels of the row-wise optimiser updates (kernels/row_updates.h): no Torch types.
// table and its state are [rows of the table, d] row-major and contiguous; gradient [n, d] holds
// the gradients of the n updated rows, whose table rows are index[0..n) (distinct) or, with a null
// index, 0..n-1. The rules are row_sparse_optimizer.h's.

#include <cstdint>

#include "kernels/cpu_capability.h"

namespace polyphony::kernels {

struct RowUpdateSizes {
  int64_t n = 0;  // rows updated
  int64_t d = 0;  // values per row
};

// Lazy Adam with its bias corrections folded in (Kingma & Ba 2015, Algorithm 1; AdamW's decoupled
// decay as `keep`): m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², w ← keep·w − step_size·m / (√v /
// root_correction2 + ε), where g = gradient + l2·w.
struct AdamRowRule {
  double beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8;
  double step_size = 0;         // lr / (1 − β₁ᵗ)
  double root_correction2 = 1;  // √(1 − β₂ᵗ)
  double keep = 1;              // 1 − lr·weight decay for AdamW, else 1
  double l2 = 0;                // weight decay added to the gradient for Adam, else 0
};

// Row-wise Adagrad: one running sum per row of its mean squared gradient, s[r] ← s[r] + mean(g²),
// w ← w − lr·g / (√s[r] + ε), g = gradient + weight_decay·w.
struct AdagradRowRule {
  double lr = 0, weight_decay = 0, epsilon = 1e-10;
};

// SGD with lazy momentum (buffer null: none): b ← μb + g, w ← w − lr·b, g = gradient +
// weight_decay·w.
struct SgdRowRule {
  double lr = 0, momentum = 0, weight_decay = 0;
};

// Each compiled once per CpuCapability (kernels/cpu_capability.h); rows in parallel. Each returns
// whether every value it wrote to the table is finite.
template <CpuCapability C, typename T>
bool adam_rows_cpu(T* table, T* first, T* second, const T* gradient, const int64_t* index,
                   const RowUpdateSizes& sizes, const AdamRowRule& rule);

template <CpuCapability C, typename T>
bool adagrad_rows_cpu(T* table, T* sums, const T* gradient, const int64_t* index,
                      const RowUpdateSizes& sizes, const AdagradRowRule& rule);

template <CpuCapability C, typename T>
bool sgd_rows_cpu(T* table, T* buffer, const T* gradient, const int64_t* index,
                  const RowUpdateSizes& sizes, const SgdRowRule& rule);

}  // namespace polyphony::kernels
