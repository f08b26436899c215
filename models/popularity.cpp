#include "models/popularity.h"

#include <torch/torch.h>

namespace polyphony {

Popularity::Popularity(const ModelContext& context) {
  auto counts = torch::zeros({context.num_items}, torch::kFloat);
  if (context.train_items.defined() && context.train_items.numel() > 0) {
    counts = torch::bincount(context.train_items, {}, context.num_items).to(torch::kFloat);
  }
  counts_ = register_buffer("counts", counts);
}

at::Tensor Popularity::score(const at::Tensor& /*users*/, const at::Tensor& items) {
  return counts_.index_select(0, items.reshape(-1)).view(items.sizes());
}

at::Tensor Popularity::score_all_items(const at::Tensor& users) {
  return counts_.unsqueeze(0).expand({users.size(0), counts_.size(0)}).contiguous();
}

}  // namespace polyphony
