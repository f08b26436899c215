#pragma once
// The trainer's optimiser over a model's parameters. With dense embedding updates it is
// torch::optim's (make_optimizer) over all of them; with row-sparse ones, torch::optim's over the
// parameters that are not embedding tables and RowSparseOptimizer over the tables.

#include <memory>
#include <string>
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

  // For a step captured as a CUDA graph: why this optimiser's step cannot be (empty when it can:
  // fused Adam or AdamW, dense updates only).
  std::string graph_capture_obstacle() const;
  // From here on the learning rate is a device tensor the fused step reads, written by
  // set_learning_rate when it changes, so that a captured step follows the schedule.
  void use_device_learning_rate(const c10::Device& device);
  // After a replay of a captured step: the host's count of steps taken, which the capture saw
  // once, moves on as the device's did.
  void count_replayed_step();
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
