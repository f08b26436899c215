#include "engine/train/row_sparse_optimizer.h"

#include <ATen/ATen.h>
#include <torch/serialize/archive.h>

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"
#include "kernels/row_updates.h"

namespace polyphony {
namespace {

// torch::optim::Adagrad's default ε.
constexpr double kAdagradEpsilon = 1e-10;

// The rows a sparse gradient holds (distinct once coalesced), or all rows for a dense one.
RowGradient rows_of(const at::Tensor& gradient) {
  if (!gradient.is_sparse()) return {at::Tensor(), gradient};
  TORCH_CHECK(gradient.sparse_dim() == 1 && gradient.dense_dim() == 1,
              "row-sparse updates need gradients of whole rows (sparse_dim 1), got sparse_dim ",
              gradient.sparse_dim());
  auto g = gradient.coalesce();
  return {g._indices().select(0, 0), g._values()};
}

std::string key(const char* what, size_t table) { return fmt::format("{}_{}", what, table); }

}  // namespace

RowSparseOptimizer::RowSparseOptimizer(std::vector<at::Tensor> tables, OptimizerOptions options,
                                       RowUpdatePath path)
    : tables_(std::move(tables)),
      states_(tables_.size()),
      options_(std::move(options)),
      path_(path) {
  check_optimizer_options(options_);
  for (const auto& t : tables_)
    TORCH_CHECK(t.dim() == 2, "row-sparse updates need embedding tables [rows, d], got ",
                t.sizes());
  reset_written_finite();
}

void RowSparseOptimizer::reset_written_finite() {
  if (!tables_.empty()) written_finite_ = at::ones({}, tables_.front().options().dtype(at::kBool));
}

void RowSparseOptimizer::zero_grad() {
  for (auto& t : tables_) t.mutable_grad() = at::Tensor();
}

void RowSparseOptimizer::step() {
  at::NoGradGuard no_grad;
  for (size_t i = 0; i < tables_.size(); ++i)
    if (tables_[i].grad().defined()) written_finite_.logical_and_(update(tables_[i], states_[i]));
}

at::Tensor RowSparseOptimizer::update(const at::Tensor& table, TableState& state) {
  const auto& o = options_;
  const RowGradient rows = rows_of(table.grad());
  ++state.steps;
  if (o.name == "adam" || o.name == "adamw") {
    if (!state.first.defined()) {
      state.first = at::zeros_like(table);
      state.second = at::zeros_like(table);
    }
    AdamRowOptions adam;
    adam.lr = o.lr;
    adam.weight_decay = o.weight_decay;
    adam.decoupled = o.name == "adamw";
    adam.step = state.steps;
    return adam_update_rows(table, rows, state.first, state.second, adam, path_);
  }
  if (o.name == "adagrad") {
    if (!state.second.defined()) state.second = at::zeros({table.size(0)}, table.options());
    return adagrad_update_rows(table, rows, state.second, o.lr, o.weight_decay, kAdagradEpsilon,
                               path_);
  }
  // sgd, as torch::optim::SGD without dampening or Nesterov
  if (o.momentum > 0 && !state.first.defined()) state.first = at::zeros_like(table);
  return sgd_update_rows(table, rows, state.first, o.lr, o.momentum, o.weight_decay, path_);
}

void RowSparseOptimizer::save(torch::serialize::OutputArchive& archive) const {
  for (size_t i = 0; i < states_.size(); ++i) {
    const auto& s = states_[i];
    archive.write(key("steps", i), at::scalar_tensor(s.steps, at::kLong), /*is_buffer=*/true);
    if (s.first.defined()) archive.write(key("first", i), s.first, /*is_buffer=*/true);
    if (s.second.defined()) archive.write(key("second", i), s.second, /*is_buffer=*/true);
  }
}

void RowSparseOptimizer::load(torch::serialize::InputArchive& archive) {
  for (size_t i = 0; i < states_.size(); ++i) {
    const auto& table = tables_[i];
    TableState s;
    at::Tensor steps;
    if (!archive.try_read(key("steps", i), steps, /*is_buffer=*/true))
      fail(
          "the checkpoint holds no row-sparse optimiser state for embedding table {} (was it "
          "written with `embedding_updates` dense?)",
          i);
    s.steps = steps.item<int64_t>();
    auto read = [&](const char* what, const std::vector<int64_t>& shape) {
      at::Tensor value;
      if (!archive.try_read(key(what, i), value, /*is_buffer=*/true)) return at::Tensor();
      if (value.sizes() != at::IntArrayRef(shape))
        fail(
            "the checkpoint's row-sparse optimiser state {} of embedding table {} has shape {}, "
            "the table needs {}",
            what, i, c10::str(value.sizes()), c10::str(shape));
      return value.to(table.options());
    };
    const std::vector<int64_t> rows_by_d = table.sizes().vec(), rows_only{table.size(0)};
    s.first = read("first", rows_by_d);
    s.second = read("second", options_.name == "adagrad" ? rows_only : rows_by_d);
    states_[i] = std::move(s);
  }
  reset_written_finite();
}

}  // namespace polyphony
