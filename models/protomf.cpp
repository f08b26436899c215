#include "models/protomf.h"

#include <limits>

#include <torch/torch.h>

#include "common/error.h"
#include "common/option_text.h"
#include "kernels/gathered_ranking_loss.h"
#include "kernels/indexed_dot.h"
#include "kernels/prototype_side.h"
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

}  // namespace

void check_options(const ProtoMFOptions& o) {
  if (o.dim < 1) fail("model option dim must be at least 1 (got {})", o.dim);
  if (o.user_prototypes < 1)
    fail("model option user_prototypes must be at least 1 (got {})", o.user_prototypes);
  if (o.item_prototypes < 1)
    fail("model option item_prototypes must be at least 1 (got {})", o.item_prototypes);
  if (o.sides != PrototypeSides::kItem) check_k(o.k_user, "k_user", o.user_prototypes, "user");
  if (o.sides != PrototypeSides::kUser) check_k(o.k_item, "k_item", o.item_prototypes, "item");
  for (double w : {o.user_proto_weight, o.user_batch_weight, o.item_proto_weight,
                   o.item_batch_weight, o.ortho_weight, o.user_ortho(), o.item_ortho()})
    if (!(w >= 0)) fail("ProtoMF regulariser weights must be non-negative (got {})", w);
}

ProtoMF::ProtoMF(const ModelContext& context, ProtoMFOptions options) : options_(options) {
  const auto& o = options_;
  check_options(o);

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

const std::vector<Option<ProtoMFOptions>>& protomf_option_list() {
  using O = OptionsOf<ProtoMFOptions>;
  using P = ProtoMFOptions;
  static const std::vector<Option<ProtoMFOptions>> options = {
      with_flag(O::field("dim", &P::dim, "embedding size d"), "dim"),
      O::field("user_prototypes", &P::user_prototypes, "number of user prototypes L_u"),
      O::field("item_prototypes", &P::item_prototypes, "number of item prototypes L_t"),
      O::field("k_user", &P::k_user, "top-k filter on user similarities (-1: off)"),
      O::field("k_item", &P::k_item, "top-k filter on item similarities (-1: off)"),
      O::field("user_proto_weight", &P::user_proto_weight, "weight of R_{P→U}"),
      O::field("user_batch_weight", &P::user_batch_weight, "weight of R_{U→P}"),
      O::field("item_proto_weight", &P::item_proto_weight, "weight of R_{P→T}"),
      O::field("item_batch_weight", &P::item_batch_weight, "weight of R_{T→P}"),
      with_flag(O::field("ortho_weight", &P::ortho_weight,
                         "weight of the prototype-distributing regulariser"),
                "ortho"),
      // Unset: ortho_weight; a configuration (and a checkpoint) without them is as before.
      with_flag(O::field("ortho_user_weight", &P::ortho_user_weight,
                         "weight of the prototype-distributing regulariser on the user "
                         "prototypes alone (default: ortho_weight)"),
                "ortho_user"),
      with_flag(O::field("ortho_item_weight", &P::ortho_item_weight,
                         "weight of the prototype-distributing regulariser on the item "
                         "prototypes alone (default: ortho_weight)"),
                "ortho_item"),
      O::choice("ortho_form", &P::ortho_form, "default or official",
                {{"default", OrthoForm::kDefault}, {"official", OrthoForm::kOfficial}}),
  };
  return options;
}

const std::vector<ModelShortcut>& protomf_shortcuts() {
  static const std::vector<ModelShortcut> shortcuts = {
      {"k_filter", "prototype top-k filter KU[,KT]: k_user and k_item (-1: off)",
       [](const std::string& text) {
         const OptionText option("k_filter", text, "KU[,KT], integers (-1: off)");
         const auto ks = option.fields(text, ',', 1, 2);
         const auto k = [&](const std::string& field) {
           return option.integer(field, std::numeric_limits<int64_t>::min(),
                                 std::numeric_limits<int64_t>::max());
         };
         return nlohmann::json{{"k_user", k(ks[0])}, {"k_item", k(ks.back())}};
       }},
  };
  return shortcuts;
}

nlohmann::json ProtoMF::config() const { return options_json(protomf_option_list(), options_); }

ProtoMF::Side ProtoMF::user_side(const at::Tensor& users) {
  auto e = embedding_rows(user_embedding_, users);
  if (options_.sides == PrototypeSides::kItem) return {e, {}};
  // u* [n, L_u], and for UI-ProtoMF [u*, û]
  const auto side = prototype_side(e, user_prototypes_,
                                   user_projection_ ? user_projection_->weight : at::Tensor(),
                                   options_.k_user, PrototypeSideLayout::kSimilaritiesFirst);
  return {side.factor, side.similarities};
}

ProtoMF::Side ProtoMF::item_side(const at::Tensor& items) {
  auto t = embedding_rows(item_embedding_, items);
  if (options_.sides == PrototypeSides::kUser) return {t, {}};
  // t* [n, L_t], and for UI-ProtoMF [t̂, t*]
  const auto side = prototype_side(t, item_prototypes_,
                                   item_projection_ ? item_projection_->weight : at::Tensor(),
                                   options_.k_item, PrototypeSideLayout::kProjectionFirst);
  return {side.factor, side.similarities};
}

ProtoMF::BatchSides ProtoMF::sides_of(const Batch& batch) {
  BatchSides sides{
      distinct_or_each(batch.users), distinct_or_each(batch.items.reshape(-1)), {}, {}};
  sides.user = user_side(sides.users.ids);
  sides.item = item_side(sides.items.ids);
  return sides;
}

at::Tensor ProtoMF::ranking_loss_of(const BatchSides& sides, const Batch& batch,
                                    RankingLoss loss) const {
  return gathered_ranking_loss(sides.user.factor, sides.item.factor, sides.users.slots,
                               sides.items.slots.view(batch.items.sizes()), loss);
}

at::Tensor ProtoMF::score(const at::Tensor& users, const at::Tensor& items) {
  // Each side once per distinct id of the batch; the scores read each slot's row from them
  // (indexed_dot) instead of gathering [B, n, F] factors.
  const auto sides = sides_of({users, items});
  return indexed_dot(sides.user.factor.index_select(0, sides.users.slots), sides.item.factor,
                     sides.items.slots.view(items.sizes()));
}

at::Tensor ProtoMF::ranking_loss(const Batch& batch, RankingLoss loss) {
  return ranking_loss_of(sides_of(batch), batch, loss);
}

std::vector<RegularizationTerm> ProtoMF::regularization(const Batch& batch) {
  return regularization_of(sides_of(batch));
}

TrainingLoss ProtoMF::training_loss(const Batch& batch, RankingLoss loss) {
  const auto sides = sides_of(batch);
  return {ranking_loss_of(sides, batch, loss), regularization_of(sides)};
}

at::Tensor ProtoMF::score_all_items(const at::Tensor& users) {
  auto factors = *score_factors(users);
  return torch::mm(factors.users, factors.items.t());
}

std::optional<ScoreFactors> ProtoMF::score_factors(const at::Tensor& users) {
  return ScoreFactors{user_side(users).factor,
                      item_side(torch::arange(item_embedding_.size(0), users.options())).factor};
}

std::vector<RegularizationTerm> ProtoMF::regularization_of(const BatchSides& sides) const {
  std::vector<RegularizationTerm> terms;
  const auto& o = options_;
  // λ_P R_{P→·} and λ_B R_{·→P} of a side's similarities, each distinct id counted once per slot
  // (the item side's slots include the sampled negatives), and λ_ortho on its prototypes.
  auto add_side = [&](const char* side, double proto_weight, double batch_weight,
                      double ortho_weight, const at::Tensor& similarities, const at::Tensor& counts,
                      const at::Tensor& prototypes) {
    const std::string name = side;
    if (proto_weight > 0 || batch_weight > 0) {
      auto pair = max_similarity_terms(similarities, counts, proto_weight, batch_weight);
      if (proto_weight > 0) terms.push_back({name + "_proto", pair.prototypes_to_batch});
      if (batch_weight > 0) terms.push_back({name + "_batch", pair.batch_to_prototypes});
    }
    if (ortho_weight > 0)
      terms.push_back(
          {name + "_ortho", orthogonality_term(prototypes, o.ortho_form, ortho_weight)});
  };
  if (has_user_prototypes())
    add_side("user", o.user_proto_weight, o.user_batch_weight, o.user_ortho(),
             sides.user.similarities, sides.users.counts, user_prototypes_);
  if (has_item_prototypes())
    add_side("item", o.item_proto_weight, o.item_batch_weight, o.item_ortho(),
             sides.item.similarities, sides.items.counts, item_prototypes_);
  return terms;
}

}  // namespace polyphony
