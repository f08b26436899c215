#pragma once
// The row-wise optimiser updates of RowSparseOptimizer (engine/train), in place on the rows a
// step read. On the CPU a kernel (row_updates_kernels.h, compiled per CpuCapability): one pass per
// row that reads the row, its gradient and its state once and writes them once; elsewhere, and on
// request, the same rule as tensor operations (gather, update, scatter). Both follow one
// definition (engine/train/row_sparse_optimizer.h) and are tested against each other, on every
// kernel target, and against a double-precision reference.
//
// Each update returns whether every value it wrote to the table is finite, as a bool scalar on the
// table's device (no host read): a trainer can then tell a diverged table without scanning all of
// its rows.

#include <cstdint>

#include <ATen/core/Tensor.h>

namespace polyphony {

// The rows of `table` [rows, d] a step updates: `index` int64 [n] distinct rows (undefined: every
// row, in order) and their gradient [n, d].
struct RowGradient {
  at::Tensor index;
  at::Tensor gradient;
};

enum class RowUpdatePath {
  kFused,      // one pass per row on the CPU; tensor operations on other devices
  kOperators,  // tensor operations everywhere
};

struct AdamRowOptions {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8, weight_decay = 0;
  bool decoupled = false;  // AdamW's weight decay
  int64_t step = 1;        // the table's step count, this step included (bias correction)
};

// Lazy Adam: first/second [rows, d].
at::Tensor adam_update_rows(const at::Tensor& table, const RowGradient& rows,
                            const at::Tensor& first, const at::Tensor& second,
                            const AdamRowOptions& options,
                            RowUpdatePath path = RowUpdatePath::kFused);

// Row-wise Adagrad: sums [rows], each row's running sum of its mean squared gradient.
at::Tensor adagrad_update_rows(const at::Tensor& table, const RowGradient& rows,
                               const at::Tensor& sums, double lr, double weight_decay,
                               double epsilon, RowUpdatePath path = RowUpdatePath::kFused);

// SGD with lazy momentum: buffer [rows, d] (undefined without momentum).
at::Tensor sgd_update_rows(const at::Tensor& table, const RowGradient& rows,
                           const at::Tensor& buffer, double lr, double momentum,
                           double weight_decay, RowUpdatePath path = RowUpdatePath::kFused);

}  // namespace polyphony
