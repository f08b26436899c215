#include "models/protomf.h"

#include <torch/torch.h>

#include "common/error.h"
#include "kernels/indexed_dot.h"
#include "kernels/topk_prototype_filter.h"
#include "models/distinct_ids.h"

namespace polyphony {
namespace {

// k = L keeps every prototype, like -1; a larger k would silently mean the same, so it is refused
// (it usually means the prototype count is not what the user thinks).
void check_k(int64_t k, const char* name, int64_t prototypes, const char* side) {
  if (k == 0 || k < -1) fail("model option {} must be -1 (off) or at least 1 (got {})", name, k);
  if (k > prototypes)
    fail("model option {} = {} exceeds the {} {} prototypes (-1 keeps them all)", name, k,
         prototypes, side);
}

// Same tensor object (the trainer passes the batch it scored to the regularisers).
bool same(const at::Tensor& a, const at::Tensor& b) {
  return a.defined() && b.defined() && a.unsafeGetTensorImpl() == b.unsafeGetTensorImpl();
}

// How many slots each distinct id fills, as floats (undefined when each id fills one slot).
at::Tensor slot_counts(const DistinctIds& distinct) {
  if (distinct.ids.numel() == distinct.slots.numel()) return {};
  return at::bincount(distinct.slots, {}, distinct.ids.numel()).to(at::kFloat);
}

}  // namespace

ProtoMF::ProtoMF(const ModelContext& context, ProtoMFOptions options) : options_(options) {
  const auto& o = options_;
  if (o.dim < 1) fail("model option dim must be at least 1 (got {})", o.dim);
  if (o.user_prototypes < 1) fail("model option user_prototypes must be at least 1");
  if (o.item_prototypes < 1) fail("model option item_prototypes must be at least 1");
  if (has_user_prototypes()) check_k(o.k_user, "k_user", o.user_prototypes, "user");
  if (has_item_prototypes()) check_k(o.k_item, "k_item", o.item_prototypes, "item");
  for (double w : {o.user_proto_weight, o.user_batch_weight, o.item_proto_weight,
                   o.item_batch_weight, o.ortho_weight})
    if (w < 0) fail("ProtoMF regulariser weights must be non-negative (got {})", w);

  // ProtoMF initialisation: embeddings and prototypes N(0, 1); projections Kaiming-uniform.
  const int64_t user_dim = o.sides == PrototypeSides::kItem ? o.item_prototypes : o.dim;
  const int64_t item_dim = o.sides == PrototypeSides::kUser ? o.user_prototypes : o.dim;
  user_embedding_ =
      register_embedding_table("user_embedding", torch::randn({context.num_users, user_dim}));
  item_embedding_ =
      register_embedding_table("item_embedding", torch::randn({context.num_items, item_dim}));
  if (has_user_prototypes())
    user_prototypes_ =
        register_parameter("user_prototypes", torch::randn({o.user_prototypes, o.dim}));
  if (has_item_prototypes())
    item_prototypes_ =
        register_parameter("item_prototypes", torch::randn({o.item_prototypes, o.dim}));
  if (o.sides == PrototypeSides::kBoth) {
    user_projection_ = register_module(
        "user_projection",
        torch::nn::Linear(torch::nn::LinearOptions(o.dim, o.item_prototypes).bias(false)));
    item_projection_ = register_module(
        "item_projection",
        torch::nn::Linear(torch::nn::LinearOptions(o.dim, o.user_prototypes).bias(false)));
    // The ProtoMF code's general_weight_init: kaiming_uniform_ with PyTorch's defaults (a = 0,
    // fan-in, leaky-ReLU gain √2), bound √(6 / d); LibTorch's Linear starts at 1/√d.
    for (auto* projection : {&user_projection_, &item_projection_})
      torch::nn::init::kaiming_uniform_((*projection)->weight, /*a=*/0);
  }
}

std::string ProtoMF::kind() const {
  switch (options_.sides) {
    case PrototypeSides::kUser:
      return "uprotomf";
    case PrototypeSides::kItem:
      return "iprotomf";
    case PrototypeSides::kBoth:
      return "uiprotomf";
  }
  return "protomf";
}

nlohmann::json ProtoMF::config() const {
  const auto& o = options_;
  return {{"dim", o.dim},
          {"user_prototypes", o.user_prototypes},
          {"item_prototypes", o.item_prototypes},
          {"k_user", o.k_user},
          {"k_item", o.k_item},
          {"user_proto_weight", o.user_proto_weight},
          {"user_batch_weight", o.user_batch_weight},
          {"item_proto_weight", o.item_proto_weight},
          {"item_batch_weight", o.item_batch_weight},
          {"ortho_weight", o.ortho_weight},
          {"ortho_form", o.ortho_form == OrthoForm::kOfficial ? "official" : "default"}};
}

ProtoMF::Side ProtoMF::user_side(const at::Tensor& users) {
  auto e = embedding_rows(user_embedding_, users);
  if (options_.sides == PrototypeSides::kItem) return {e, {}};
  auto sims = topk_prototype_filter_dense(e, user_prototypes_, options_.k_user);  // u* [n, L_u]
  if (options_.sides == PrototypeSides::kUser) return {sims, sims};
  return {torch::cat({sims, user_projection_->forward(e)}, 1), sims};  // [u*, û]
}

ProtoMF::Side ProtoMF::item_side(const at::Tensor& items) {
  auto t = embedding_rows(item_embedding_, items);
  if (options_.sides == PrototypeSides::kUser) return {t, {}};
  auto sims = topk_prototype_filter_dense(t, item_prototypes_, options_.k_item);  // t* [n, L_t]
  if (options_.sides == PrototypeSides::kItem) return {sims, sims};
  return {torch::cat({item_projection_->forward(t), sims}, 1), sims};  // [t̂, t*]
}

ProtoMF::Side ProtoMF::per_distinct(Side (ProtoMF::*side)(const at::Tensor&),
                                    const at::Tensor& ids) {
  const auto distinct = distinct_ids(ids);
  if (!distinct) return (this->*side)(ids);
  auto once = (this->*side)(distinct->ids);
  auto to_slots = [&](const at::Tensor& t) {
    return t.defined() ? t.index_select(0, distinct->slots) : t;
  };
  return {to_slots(once.factor), to_slots(once.similarities)};
}

at::Tensor ProtoMF::score(const at::Tensor& users, const at::Tensor& items) {
  auto u = per_distinct(&ProtoMF::user_side, users);
  // The item side once per distinct item of the batch; the scores read each slot's item from it
  // (indexed_dot) instead of gathering [B, n, F] factors.
  const auto distinct = distinct_or_each(items.reshape(-1));
  const auto t = item_side(distinct.ids);
  last_users_ = users;
  last_items_ = items;
  last_user_similarities_ = u.similarities;
  last_item_similarities_ = t.similarities;
  last_item_slot_counts_ = slot_counts(distinct);
  return indexed_dot(u.factor, t.factor, distinct.slots.view(items.sizes()));
}

at::Tensor ProtoMF::score_all_items(const at::Tensor& users) {
  auto factors = *score_factors(users);
  return torch::mm(factors.users, factors.items.t());
}

std::optional<ScoreFactors> ProtoMF::score_factors(const at::Tensor& users) {
  return ScoreFactors{user_side(users).factor,
                      item_side(torch::arange(item_embedding_.size(0), users.options())).factor};
}

std::vector<RegularizationTerm> ProtoMF::regularization(const Batch& batch) {
  std::vector<RegularizationTerm> terms;
  const auto& o = options_;
  auto add = [&](const char* name, double weight, const std::function<at::Tensor()>& value) {
    if (weight > 0) terms.push_back({name, weight * value()});
  };
  if (has_user_prototypes()) {
    auto sims = same(last_users_, batch.users) ? last_user_similarities_
                                               : user_side(batch.users).similarities;
    add("user_proto", o.user_proto_weight, [&] { return prototypes_to_batch_loss(sims); });
    add("user_batch", o.user_batch_weight, [&] { return batch_to_prototypes_loss(sims); });
    add("user_ortho", o.ortho_weight,
        [&] { return orthogonality_loss(user_prototypes_, o.ortho_form); });
  }
  if (has_item_prototypes()) {
    // The item side of the batch includes the sampled negatives.
    at::Tensor sims, counts;
    if (same(last_users_, batch.users) && last_items_.defined()) {
      sims = last_item_similarities_;
      counts = last_item_slot_counts_;
    } else {
      const auto distinct = distinct_or_each(batch.items.reshape(-1));
      sims = item_side(distinct.ids).similarities;
      counts = slot_counts(distinct);
    }
    add("item_proto", o.item_proto_weight, [&] { return prototypes_to_batch_loss(sims); });
    add("item_batch", o.item_batch_weight, [&] { return batch_to_prototypes_loss(sims, counts); });
    add("item_ortho", o.ortho_weight,
        [&] { return orthogonality_loss(item_prototypes_, o.ortho_form); });
  }
  // The cached graph belongs to this step; drop it so it is not kept alive.
  last_users_ = last_items_ = last_user_similarities_ = last_item_similarities_ =
      last_item_slot_counts_ = at::Tensor();
  return terms;
}

}  // namespace polyphony
