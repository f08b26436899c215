#pragma once
// The trainer's optimiser over a model's parameters. With dense embedding updates it is
// torch::optim's (make_optimizer) over all of them; with row-sparse ones, torch::optim's over the
// parameters that are not embedding tables and RowSparseOptimizer over the tables.

#include <memory>
#include <vector>

#include <ATen/core/Tensor.h>

#include "engine/train/optimization.h"
#include "engine/train/row_sparse_optimizer.h"

namespace polyphony {

class ModelOptimizer {
 public:
  // `dense`: the parameters updated whole; `tables`: those updated row-wise (empty with dense
  // embedding updates).
  ModelOptimizer(const std::vector<at::Tensor>& dense, const std::vector<at::Tensor>& tables,
                 const OptimizerOptions& options);
  ~ModelOptimizer();

  void set_learning_rate(double lr);
  void zero_grad();
  void step();
  // RowSparseOptimizer::written_finite of the tables (undefined with dense updates).
  at::Tensor tables_written_finite() const;
  // The dense optimiser's state as torch::optim writes it (so checkpoints of dense runs keep
  // their layout), the row-wise state under "row_sparse".
  void save(torch::serialize::OutputArchive& archive) const;
  void load(torch::serialize::InputArchive& archive);

 private:
  std::unique_ptr<torch::optim::Optimizer> dense_;  // null when every parameter is a table
  std::unique_ptr<RowSparseOptimizer> rows_;        // null with dense updates
};

}  // namespace polyphony
