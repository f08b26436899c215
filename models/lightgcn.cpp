#include "models/lightgcn.h"

#include <torch/torch.h>

#include "common/error.h"
#include "kernels/gathered_ranking_loss.h"

namespace polyphony {

void check_options(const LightGcnOptions& o) {
  if (o.dim < 1) fail("model option dim must be at least 1 (got {})", o.dim);
  if (o.layers < 0) fail("model option layers must be 0 or more (got {})", o.layers);
  if (!(o.decay >= 0)) fail("model option decay must be 0 or more (got {})", o.decay);
  check_init_std(o.init_std);
}

LightGcn::LightGcn(const ModelContext& context, LightGcnOptions options)
    : options_(options), graph_(interaction_graph(context)) {
  check_options(options_);
  embedding_ = register_parameter(
      "embedding", torch::randn({graph_.num_nodes(), options_.dim}) * options_.init_std);
}

const std::vector<Option<LightGcnOptions>>& lightgcn_option_list() {
  using O = OptionsOf<LightGcnOptions>;
  static const std::vector<Option<LightGcnOptions>> options = {
      with_flag(O::field("dim", &LightGcnOptions::dim, "embedding size d"), "dim"),
      O::field("layers", &LightGcnOptions::layers, "propagation layers L (0 is plain MF)"),
      O::field("init_std", &LightGcnOptions::init_std,
               "standard deviation of the N(0, std²) initialisation"),
      O::field("decay", &LightGcnOptions::decay,
               "weight of the official code's L2 term on the batch's layer-0 embeddings"),
  };
  return options;
}

nlohmann::json LightGcn::config() const { return options_json(lightgcn_option_list(), options_); }

at::Tensor LightGcn::propagate() {
  if (const auto* cached = cache_.find({embedding_})) return cached->front();
  graph_ = graph_.to(embedding_.device(), embedding_.scalar_type());  // itself when already there
  at::Tensor layer = embedding_;
  at::Tensor sum = embedding_;
  for (int64_t l = 0; l < options_.layers; ++l) {
    layer = sparse_matmul(graph_.normalized_adjacency, layer);
    sum = sum + layer;
  }
  auto final_embedding = sum / static_cast<double>(options_.layers + 1);
  cache_.store({embedding_}, {final_embedding});
  return final_embedding;
}

at::Tensor LightGcn::score(const at::Tensor& users, const at::Tensor& items) {
  const auto e = propagate();
  auto u = e.index_select(0, users).unsqueeze(1);  // [B, 1, d]
  auto v = e.index_select(0, items.reshape(-1) + graph_.num_users)
               .view({items.size(0), items.size(1), -1});  // [B, n, d]
  return (u * v).sum(-1);
}

at::Tensor LightGcn::score_all_items(const at::Tensor& users) {
  const auto e = propagate();
  return at::mm(e.index_select(0, users), e.narrow(0, graph_.num_users, graph_.num_items).t());
}

std::optional<ScoreFactors> LightGcn::score_factors(const at::Tensor& users) {
  const auto e = propagate();
  return ScoreFactors{e.index_select(0, users), e.narrow(0, graph_.num_users, graph_.num_items)};
}

at::Tensor LightGcn::ranking_loss(const Batch& batch, RankingLoss loss) {
  return gathered_ranking_loss(propagate(), graph_.num_users, batch.users, batch.items, loss);
}

std::vector<RegularizationTerm> LightGcn::regularization(const Batch& batch) {
  if (options_.decay == 0) return {};
  // LightGCN-PyTorch (He et al.) regularises the layer-0 embeddings of the batch's users,
  // positives and negatives, not the propagated ones, and divides by the batch size.
  const auto squared = [&](const at::Tensor& nodes) {
    return embedding_.index_select(0, nodes.reshape(-1)).pow(2).sum();
  };
  const auto items = batch.items + graph_.num_users;
  const auto l2 = 0.5 * (squared(batch.users) + squared(items)) /
                  static_cast<double>(std::max<int64_t>(1, batch.users.size(0)));
  return {{"lightgcn_decay", options_.decay * l2}};
}

}  // namespace polyphony
