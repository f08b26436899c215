#include "models/svd_recommender.h"

#include <torch/torch.h>

namespace polyphony {

SvdRecommender::SvdRecommender(const ModelContext& context, const TruncatedSvdOptions& options)
    : options_(options) {
  auto users = context.train_users.to(torch::kCPU), items = context.train_items.to(torch::kCPU);
  auto e =
      truncated_svd_item_embeddings(users, items, context.num_users, context.num_items, options);
  auto sum = torch::zeros({context.num_users, e.size(1)}, torch::kDouble)
                 .index_add_(0, users, e.index_select(0, items));
  auto count = torch::bincount(users, {}, context.num_users).to(torch::kDouble).clamp_min(1);
  user_vectors_ = register_buffer("user_vectors", (sum / count.unsqueeze(1)).to(torch::kFloat));
  item_vectors_ = register_buffer("item_vectors", e.to(torch::kFloat));
}

const std::vector<Option<TruncatedSvdOptions>>& svd_option_list() {
  using O = OptionsOf<TruncatedSvdOptions>;
  static const std::vector<Option<TruncatedSvdOptions>> options = {
      O::field("rank", &TruncatedSvdOptions::rank, "rank K of the embedding"),
      O::field("min_cooccurrence", &TruncatedSvdOptions::min_cooccurrence,
               "item pairs co-occurring in fewer users' histories are dropped"),
      O::field("oversampling", &TruncatedSvdOptions::oversampling,
               "extra random directions of the randomized SVD"),
      O::field("power_iterations", &TruncatedSvdOptions::power_iterations,
               "power iterations of the randomized SVD"),
      O::field("seed", &TruncatedSvdOptions::seed, "seed of the random test matrix"),
  };
  return options;
}

nlohmann::json SvdRecommender::config() const { return options_json(svd_option_list(), options_); }

at::Tensor SvdRecommender::score(const at::Tensor& users, const at::Tensor& items) {
  auto u = user_vectors_.index_select(0, users).unsqueeze(1);  // [B, 1, K]
  auto v = item_vectors_.index_select(0, items.reshape(-1))
               .view({items.size(0), items.size(1), -1});  // [B, n, K]
  return (u * v).sum(-1);
}

at::Tensor SvdRecommender::score_all_items(const at::Tensor& users) {
  return user_vectors_.index_select(0, users).mm(item_vectors_.t());
}

std::optional<ScoreFactors> SvdRecommender::score_factors(const at::Tensor& users) {
  return ScoreFactors{user_vectors_.index_select(0, users), item_vectors_};
}

}  // namespace polyphony
