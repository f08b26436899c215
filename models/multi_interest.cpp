#include "models/multi_interest.h"

#include <torch/torch.h>

#include "common/error.h"

namespace polyphony {

void check_options(const MultiInterestOptions& o) {
  if (o.dim < 1) fail("model option dim must be at least 1 (got {})", o.dim);
  if (o.layers < 1) fail("model option layers must be at least 1 (got {})", o.layers);
  if (o.interests < 1) fail("model option interests must be at least 1 (got {})", o.interests);
  if (!(o.temperature > 0))
    fail("model option temperature must be positive (got {})", o.temperature);
  if (!(o.epsilon >= 0)) fail("model option epsilon must be 0 or more (got {})", o.epsilon);
  check_init_std(o.init_std);
}

MultiInterest::MultiInterest(const ModelContext& context, MultiInterestOptions options)
    : options_(options), graph_(interaction_graph(context)) {
  const auto& o = options_;
  check_options(o);
  embedding_ =
      register_parameter("embedding", torch::randn({graph_.num_nodes(), o.dim}) * o.init_std);
  global_interests_ =
      register_parameter("global_interests", torch::randn({o.interests, o.dim}) * o.init_std);
}

const std::vector<Option<MultiInterestOptions>>& multi_interest_option_list() {
  using O = OptionsOf<MultiInterestOptions>;
  static const std::vector<Option<MultiInterestOptions>> options = {
      with_flag(O::field("dim", &MultiInterestOptions::dim, "embedding size d"), "dim"),
      O::field("layers", &MultiInterestOptions::layers, "propagation layers L (at least 1)"),
      O::field("interests", &MultiInterestOptions::interests, "global interests K"),
      O::field("temperature", &MultiInterestOptions::temperature,
               "softmax temperature τ of the interest assignment"),
      O::field("epsilon", &MultiInterestOptions::epsilon,
               "ε in the virtual interests' denominator"),
      O::field("init_std", &MultiInterestOptions::init_std,
               "standard deviation of the N(0, std²) initialisation"),
  };
  return options;
}

nlohmann::json MultiInterest::config() const {
  return options_json(multi_interest_option_list(), options_);
}

at::Tensor MultiInterest::matching_interests(const at::Tensor& centers,
                                             const at::Tensor& interests) const {
  at::NoGradGuard no_grad;
  // c_v · v_jk for every edge (v, j) and interest k: one sampled product on the adjacency's
  // pattern per interest (never the dense N × N·K product), values in the edges' CSR order.
  std::vector<at::Tensor> per_interest;
  for (int64_t k = 0; k < options_.interests; ++k)
    per_interest.push_back(at::sparse_sampled_addmm(graph_.adjacency.matrix, centers,
                                                    interests.select(1, k).t(), /*beta=*/0.0)
                               .values());
  return at::stack(per_interest, 1).argmax(1);
}

std::pair<at::Tensor, at::Tensor> MultiInterest::layer(const at::Tensor& centers) {
  const int64_t n = graph_.num_nodes(), k = options_.interests, d = options_.dim;
  const auto assignment =
      at::softmax(at::mm(centers, global_interests_.t()) / options_.temperature, 1);  // [N, K]
  const auto weighted = (assignment.unsqueeze(2) * centers.unsqueeze(1)).reshape({n, k * d});
  const auto numerator = sparse_matmul(graph_.adjacency, weighted).view({n, k, d});
  const auto denominator = sparse_matmul(graph_.adjacency, assignment);  // [N, K]
  const auto interests = numerator / (denominator.unsqueeze(2) + options_.epsilon);
  // Edge (v, j) takes row j·K + k* of the flattened interests, weighted by Â_vj.
  const auto choice = matching_interests(centers, interests);
  const auto pick = csr_matrix(graph_.row_pointers, graph_.edge_rows, graph_.edge_cols * k + choice,
                               graph_.edge_weights, n * k);
  return {interests, sparse_matmul(pick, interests.reshape({n * k, d}))};
}

MultiInterest::Representations MultiInterest::propagate() {
  const std::vector<at::Tensor> parameters = {embedding_, global_interests_};
  if (const auto* cached = cache_.find(parameters)) return {(*cached)[0], (*cached)[1]};
  graph_ = graph_.to(embedding_.device(), embedding_.scalar_type());
  at::Tensor centers = embedding_, sum = embedding_, interests;
  for (int64_t l = 0; l < options_.layers; ++l) {
    std::tie(interests, centers) = layer(centers);
    sum = sum + centers;
  }
  Representations r{sum / static_cast<double>(options_.layers + 1),
                    interests.narrow(0, 0, graph_.num_users)};
  cache_.store(parameters, {r.centers, r.interests});
  return r;
}

at::Tensor MultiInterest::score(const at::Tensor& users, const at::Tensor& items) {
  const auto r = propagate();
  const auto cu = r.centers.index_select(0, users);  // [B, d]
  const auto ci = r.centers.index_select(0, items.reshape(-1) + graph_.num_users)
                      .view({items.size(0), items.size(1), -1});  // [B, n, d]
  const auto vu = r.interests.index_select(0, users);             // [B, K, d]
  const auto center = at::bmm(ci, cu.unsqueeze(2)).squeeze(2);    // [B, n]
  const auto interest = at::bmm(ci, vu.transpose(1, 2)).amax(2);  // [B, n]
  return at::maximum(center, interest);
}

at::Tensor MultiInterest::score_all_items(const at::Tensor& users) {
  const auto r = propagate();
  const auto items_t = r.centers.narrow(0, graph_.num_users, graph_.num_items).t();
  auto scores = at::mm(r.centers.index_select(0, users), items_t);
  const auto vu = r.interests.index_select(0, users);
  // One interest at a time keeps the memory at two [B, I] matrices.
  for (int64_t k = 0; k < options_.interests; ++k)
    scores = at::maximum(scores, at::mm(vu.select(1, k), items_t));
  return scores;
}

std::optional<ScoreFactors> MultiInterest::spectral_factors(const at::Tensor& users) {
  const auto r = propagate();
  return ScoreFactors{r.centers.index_select(0, users),
                      r.centers.narrow(0, graph_.num_users, graph_.num_items)};
}

std::optional<MaxProductFactors> MultiInterest::max_product_factors(const at::Tensor& users) {
  const auto r = propagate();
  const auto centers = r.centers.index_select(0, users).unsqueeze(1);
  return MaxProductFactors{at::cat({centers, r.interests.index_select(0, users)}, 1),
                           r.centers.narrow(0, graph_.num_users, graph_.num_items)};
}

}  // namespace polyphony
