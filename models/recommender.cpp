#include "models/recommender.h"

#include <ATen/ATen.h>
#include <torch/autograd.h>

namespace polyphony {

at::Tensor Recommender::register_embedding_table(const std::string& name,
                                                 const at::Tensor& initial) {
  auto table = register_parameter(name, initial);
  embedding_tables_.push_back(table);
  return table;
}

at::Tensor Recommender::ranking_loss(const Batch& batch, RankingLoss loss) {
  return polyphony::ranking_loss(loss, score(batch.users, batch.items));
}

bool Recommender::row_sparse_gradient_for(const at::Tensor& table) const {
  return row_sparse_gradients_ && table.requires_grad() && at::GradMode::is_enabled();
}

at::Tensor Recommender::embedding_rows(const at::Tensor& table, const at::Tensor& ids) const {
  if (row_sparse_gradient_for(table))
    return at::embedding(table, ids, /*padding_idx=*/-1, /*scale_grad_by_freq=*/false,
                         /*sparse=*/true);
  return table.index_select(0, ids);
}

}  // namespace polyphony
