#include "engine/train/model_optimizer.h"

#include <torch/optim/optimizer.h>
#include <torch/serialize/archive.h>

#include "common/error.h"
#include "engine/train/fused_adam.h"

namespace polyphony {

ModelOptimizer::ModelOptimizer(const std::vector<at::Tensor>& dense,
                               const std::vector<at::Tensor>& tables,
                               const OptimizerOptions& options) {
  check_optimizer_options(options);
  if (!dense.empty()) dense_ = make_optimizer(dense, options);
  if (!tables.empty()) rows_ = std::make_unique<RowSparseOptimizer>(tables, options);
}

ModelOptimizer::~ModelOptimizer() = default;

void ModelOptimizer::set_learning_rate(double lr) {
  if (dense_) polyphony::set_learning_rate(*dense_, lr);
  if (rows_) rows_->set_learning_rate(lr);
  if (auto* fused = fused_adam(dense_.get())) fused->set_device_learning_rate(lr);
}

std::string ModelOptimizer::graph_capture_obstacle() const {
  if (rows_) return "row-sparse embedding updates touch other rows at every step";
  if (!fused_adam(dense_.get())) return "only the fused Adam and AdamW steps are captured";
  return "";
}

void ModelOptimizer::use_device_learning_rate(const c10::Device& device) {
  if (auto* fused = fused_adam(dense_.get())) fused->use_device_learning_rate(device);
}

void ModelOptimizer::count_replayed_step() {
  if (auto* fused = fused_adam(dense_.get())) fused->count_replayed_step();
}

void ModelOptimizer::zero_grad() {
  // torch::optim's zero_grad detaches each gradient in place before dropping it, two operators
  // per parameter per step; nothing else holds these gradients, so dropping them is enough.
  if (dense_)
    for (auto& group : dense_->param_groups())
      for (auto& p : group.params()) p.mutable_grad().reset();
  if (rows_) rows_->zero_grad();
}

void ModelOptimizer::step() {
  if (dense_) dense_->step();
  if (rows_) rows_->step();
}

at::Tensor ModelOptimizer::tables_written_finite() const {
  return rows_ ? rows_->written_finite() : at::Tensor();
}

void ModelOptimizer::save(torch::serialize::OutputArchive& archive) const {
  if (dense_) dense_->save(archive);
  if (rows_) {
    torch::serialize::OutputArchive rows;
    rows_->save(rows);
    archive.write("row_sparse", rows);
  }
}

void ModelOptimizer::load(torch::serialize::InputArchive& archive) {
  if (dense_) dense_->load(archive);
  if (rows_) {
    torch::serialize::InputArchive rows;
    if (!archive.try_read("row_sparse", rows))
      fail(
          "the checkpoint holds no row-sparse optimiser state (it was written with "
          "`embedding_updates` dense)");
    rows_->load(rows);
  }
}

}  // namespace polyphony
