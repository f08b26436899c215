#include "models/acf.h"

#include <torch/torch.h>

#include "common/error.h"
#include "kernels/indexed_dot.h"
#include "models/distinct_ids.h"

namespace polyphony {

void check_options(const AcfOptions& o) {
  if (o.dim < 1) fail("model option dim must be at least 1 (got {})", o.dim);
  if (o.anchors < 1) fail("model option anchors must be at least 1 (got {})", o.anchors);
  if (!(o.exclusiveness_weight >= 0) || !(o.inclusiveness_weight >= 0))
    fail("model options exclusiveness_weight and inclusiveness_weight must be 0 or more");
  check_init_std(o.init_std);
}

Acf::Acf(const ModelContext& context, AcfOptions options) : options_(options) {
  const auto& o = options_;
  check_options(o);
  user_embedding_ = register_embedding_table("user_embedding",
                                             torch::randn({context.num_users, o.dim}) * o.init_std);
  item_embedding_ = register_embedding_table("item_embedding",
                                             torch::randn({context.num_items, o.dim}) * o.init_std);
  anchors_ = register_parameter("anchors", torch::randn({o.anchors, o.dim}) * o.init_std);
}

const std::vector<Option<AcfOptions>>& acf_option_list() {
  using O = OptionsOf<AcfOptions>;
  static const std::vector<Option<AcfOptions>> options = {
      with_flag(O::field("dim", &AcfOptions::dim, "embedding size d"), "dim"),
      O::field("anchors", &AcfOptions::anchors, "number of anchors K"),
      O::field("exclusiveness_weight", &AcfOptions::exclusiveness_weight,
               "weight δ_exc of the exclusiveness term"),
      O::field("inclusiveness_weight", &AcfOptions::inclusiveness_weight,
               "weight δ_inc of the inclusiveness term"),
      O::field("init_std", &AcfOptions::init_std,
               "standard deviation of the N(0, std²) initialisation"),
  };
  return options;
}

nlohmann::json Acf::config() const { return options_json(acf_option_list(), options_); }

at::Tensor Acf::mixture(const at::Tensor& embedding, const at::Tensor& ids) const {
  return at::softmax(at::mm(embedding_rows(embedding, ids), anchors_.t()), 1);
}

// A batch's items repeat (each positive with its negatives), so each distinct one is mixed once.
at::Tensor Acf::represented(const at::Tensor& embedding, const at::Tensor& ids) const {
  return per_distinct_id(
      ids, [&](const at::Tensor& once) { return at::mm(mixture(embedding, once), anchors_); });
}

at::Tensor Acf::score(const at::Tensor& users, const at::Tensor& items) {
  const auto u = represented(user_embedding_, users);  // [B, d]
  // Each distinct item once; the scores read each slot's item from those rows (indexed_dot).
  const auto distinct = distinct_or_each(items.reshape(-1));
  const auto t = at::mm(mixture(item_embedding_, distinct.ids), anchors_);
  return indexed_dot(u, t, distinct.slots.view(items.sizes()));
}

at::Tensor Acf::score_all_items(const at::Tensor& users) {
  const auto factors = *score_factors(users);
  return at::mm(factors.users, factors.items.t());
}

std::optional<ScoreFactors> Acf::score_factors(const at::Tensor& users) {
  const auto all_items = at::arange(item_embedding_.size(0), users.options());
  return ScoreFactors{at::mm(mixture(user_embedding_, users), anchors_),
                      at::mm(mixture(item_embedding_, all_items), anchors_)};
}

std::vector<RegularizationTerm> Acf::regularization(const Batch& batch) {
  std::vector<RegularizationTerm> terms;
  const auto& o = options_;
  if (o.exclusiveness_weight == 0 && o.inclusiveness_weight == 0) return terms;
  const auto items = batch.items.reshape(-1);
  // Once per distinct item, gathered back to the slots: the terms sum over slots, so an item in
  // several slots counts in each.
  const auto logits = per_distinct_id(items, [&](const at::Tensor& once) {
    return at::mm(embedding_rows(item_embedding_, once), anchors_.t());
  });  // [n, K]
  const auto c = at::softmax(logits, 1);
  // Entropies from the log-softmax, so a mixture weight that underflows to 0 gives 0 log 0 = 0
  // and a finite gradient.
  if (o.exclusiveness_weight > 0) {
    const auto entropy_sum = -(c * at::log_softmax(logits, 1)).sum();
    terms.push_back({"acf_exclusiveness", o.exclusiveness_weight * entropy_sum});
  }
  if (o.inclusiveness_weight > 0) {
    const auto q = c.sum(0) / c.sum();
    const auto entropy = -(q * q.clamp_min(1e-30).log()).sum();
    terms.push_back({"acf_inclusiveness", -o.inclusiveness_weight * entropy});
  }
  return terms;
}

}  // namespace polyphony
