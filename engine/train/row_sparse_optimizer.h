#pragma once
// Row-wise updates of embedding tables whose gradients hold only the rows a batch read (sparse
// COO gradients, Recommender::set_row_sparse_gradients): a step costs the rows it read, not the
// table, so a catalogue of millions of items trains as fast as one of thousands. Each optimiser
// has one row-wise form:
//   adam, adamw  lazy Adam, torch.optim.SparseAdam's rule: a row's moments move only at the steps
//                that read it, and the bias correction counts the table's steps. Weight decay
//                acts on the rows read: added to their gradient (Adam, L2) or shrinking them
//                (AdamW, decoupled).
//   adagrad      row-wise Adagrad (FBGEMM's and TorchRec's ROWWISE_ADAGRAD): one accumulator
//                per row, the running sum of the mean of the row's squared gradient; L2 weight
//                decay on the rows read; ε 1e-10 as torch::optim::Adagrad.
//   sgd          SGD with lazy momentum: a row's momentum buffer moves only when it is read.
// Where every row is read at every step, each equals its dense optimiser. A dense gradient (a
// regulariser that reads the whole table, as ReSN's item side) updates every row by the rule.

#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

#include "engine/train/optimization.h"
#include "kernels/row_updates.h"

namespace torch::serialize {
class InputArchive;
class OutputArchive;
}  // namespace torch::serialize

namespace polyphony {

class RowSparseOptimizer {
 public:
  // `tables` are parameters [rows, d]; options as make_optimizer's. `path` chooses the update's
  // implementation (row_updates.h; tests compare them).
  RowSparseOptimizer(std::vector<at::Tensor> tables, OptimizerOptions options,
                     RowUpdatePath path = RowUpdatePath::kFused);

  void set_learning_rate(double lr) { options_.lr = lr; }
  // Drops the tables' gradients.
  void zero_grad();
  // Updates the rows each table's gradient holds (every row for a dense gradient).
  void step();
  // Whether every value the updates wrote to the tables since construction or load() is finite:
  // a bool scalar on the tables' device, read without scanning them (undefined without tables).
  const at::Tensor& written_finite() const { return written_finite_; }

  // The state (moments or accumulators and step counts) under `archive`, and back: a resumed run
  // continues exactly.
  void save(torch::serialize::OutputArchive& archive) const;
  void load(torch::serialize::InputArchive& archive);

 private:
  struct TableState {
    at::Tensor first;   // Adam's first moment or SGD's momentum buffer [rows, d]
    at::Tensor second;  // Adam's second moment [rows, d] or Adagrad's accumulators [rows]
    int64_t steps = 0;  // steps that updated the table (Adam's bias correction)
  };

  // Whether every value it wrote is finite.
  at::Tensor update(const at::Tensor& table, TableState& state);
  void reset_written_finite();

  std::vector<at::Tensor> tables_;
  std::vector<TableState> states_;
  OptimizerOptions options_;
  RowUpdatePath path_;
  at::Tensor written_finite_;
};

}  // namespace polyphony
