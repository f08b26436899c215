#include "models/registry.h"

#include <optional>
#include <set>

#include <torch/torch.h>

#include "common/error.h"
#include "models/acf.h"
#include "models/lightgcn.h"
#include "models/matrix_factorization.h"
#include "models/multi_interest.h"
#include "models/popularity.h"
#include "models/protomf.h"
#include "models/resn.h"
#include "models/svd_recommender.h"

namespace polyphony {
namespace {

// Reads option `key` of type T from `options`, keeping `fallback` when absent.
template <typename T>
T read_option(const nlohmann::json& options, const std::string& model, const std::string& key,
              T fallback) {
  auto it = options.find(key);
  if (it == options.end()) return fallback;
  try {
    return it->get<T>();
  } catch (const nlohmann::json::exception&) {
    fail("model '{}': option '{}' has the wrong type ({})", model, key, it->dump());
  }
}

void reject_unknown_keys(const nlohmann::json& options, const std::string& model,
                         const std::set<std::string>& known) {
  for (const auto& [key, value] : options.items()) {
    if (!known.count(key)) {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      fail("model '{}': unknown option '{}' (known: {})", model, key, list.empty() ? "none" : list);
    }
  }
}

}  // namespace

const std::vector<ModelInfo>& available_models() {
  static const std::vector<ModelInfo> models = {
      {"mf", "matrix factorisation, score = e_u . e_i"},
      {"uprotomf", "ProtoMF with user prototypes (options k_user, ortho_weight, ...)"},
      {"iprotomf", "ProtoMF with item prototypes (options k_item, ortho_weight, ...)"},
      {"uiprotomf", "ProtoMF with user and item prototypes (k_user, k_item, ortho_weight, ...)"},
      {"acf", "anchor-based CF: entities as mixtures of shared anchors (anchors, ...)"},
      {"lightgcn", "LightGCN: embeddings propagated over the user-item graph (layers)"},
      {"multi-interest",
       "virtual interests from shared global interests on LightGCN (interests, layers, ...)"},
      {"svd", "item-based on truncated-SVD PPMI item embeddings (option rank; no training)"},
      {"pop", "most-popular baseline (no training)"},
  };
  return models;
}

namespace {

std::shared_ptr<Recommender> make_base_model(const std::string& name, const ModelContext& context,
                                             const nlohmann::json& options) {
  if (name == "mf") {
    reject_unknown_keys(options, name, {"dim", "init_std"});
    MatrixFactorizationOptions o;
    o.dim = read_option(options, name, "dim", o.dim);
    o.init_std = read_option(options, name, "init_std", o.init_std);
    return std::make_shared<MatrixFactorization>(context, o);
  }
  if (name == "svd") {
    reject_unknown_keys(options, name,
                        {"rank", "min_cooccurrence", "oversampling", "power_iterations", "seed"});
    TruncatedSvdOptions o;
    o.rank = read_option(options, name, "rank", o.rank);
    o.min_cooccurrence = read_option(options, name, "min_cooccurrence", o.min_cooccurrence);
    o.oversampling = read_option(options, name, "oversampling", o.oversampling);
    o.power_iterations = read_option(options, name, "power_iterations", o.power_iterations);
    o.seed = read_option(options, name, "seed", o.seed);
    return std::make_shared<SvdRecommender>(context, o);
  }
  if (name == "uprotomf" || name == "iprotomf" || name == "uiprotomf") {
    reject_unknown_keys(options, name,
                        {"dim", "user_prototypes", "item_prototypes", "k_user", "k_item",
                         "user_proto_weight", "user_batch_weight", "item_proto_weight",
                         "item_batch_weight", "ortho_weight", "ortho_form"});
    ProtoMFOptions o;
    o.sides = name == "uprotomf"   ? PrototypeSides::kUser
              : name == "iprotomf" ? PrototypeSides::kItem
                                   : PrototypeSides::kBoth;
    o.dim = read_option(options, name, "dim", o.dim);
    o.user_prototypes = read_option(options, name, "user_prototypes", o.user_prototypes);
    o.item_prototypes = read_option(options, name, "item_prototypes", o.item_prototypes);
    o.k_user = read_option(options, name, "k_user", o.k_user);
    o.k_item = read_option(options, name, "k_item", o.k_item);
    o.user_proto_weight = read_option(options, name, "user_proto_weight", o.user_proto_weight);
    o.user_batch_weight = read_option(options, name, "user_batch_weight", o.user_batch_weight);
    o.item_proto_weight = read_option(options, name, "item_proto_weight", o.item_proto_weight);
    o.item_batch_weight = read_option(options, name, "item_batch_weight", o.item_batch_weight);
    o.ortho_weight = read_option(options, name, "ortho_weight", o.ortho_weight);
    o.ortho_form =
        parse_ortho_form(read_option<std::string>(options, name, "ortho_form", "default"));
    return std::make_shared<ProtoMF>(context, o);
  }
  if (name == "acf") {
    reject_unknown_keys(
        options, name,
        {"dim", "anchors", "exclusiveness_weight", "inclusiveness_weight", "init_std"});
    AcfOptions o;
    o.dim = read_option(options, name, "dim", o.dim);
    o.anchors = read_option(options, name, "anchors", o.anchors);
    o.exclusiveness_weight =
        read_option(options, name, "exclusiveness_weight", o.exclusiveness_weight);
    o.inclusiveness_weight =
        read_option(options, name, "inclusiveness_weight", o.inclusiveness_weight);
    o.init_std = read_option(options, name, "init_std", o.init_std);
    return std::make_shared<Acf>(context, o);
  }
  if (name == "lightgcn") {
    reject_unknown_keys(options, name, {"dim", "layers", "init_std"});
    LightGcnOptions o;
    o.dim = read_option(options, name, "dim", o.dim);
    o.layers = read_option(options, name, "layers", o.layers);
    o.init_std = read_option(options, name, "init_std", o.init_std);
    return std::make_shared<LightGcn>(context, o);
  }
  if (name == "multi-interest") {
    reject_unknown_keys(options, name,
                        {"dim", "layers", "interests", "temperature", "epsilon", "init_std"});
    MultiInterestOptions o;
    o.dim = read_option(options, name, "dim", o.dim);
    o.layers = read_option(options, name, "layers", o.layers);
    o.interests = read_option(options, name, "interests", o.interests);
    o.temperature = read_option(options, name, "temperature", o.temperature);
    o.epsilon = read_option(options, name, "epsilon", o.epsilon);
    o.init_std = read_option(options, name, "init_std", o.init_std);
    return std::make_shared<MultiInterest>(context, o);
  }
  if (name == "pop") {
    reject_unknown_keys(options, name, {});
    return std::make_shared<Popularity>(context);
  }
  std::string list;
  for (const auto& m : available_models()) list += (list.empty() ? "" : ", ") + m.name;
  fail("unknown model '{}' (available: {})", name, list);
}

}  // namespace

std::shared_ptr<Recommender> make_model(const std::string& name, const ModelContext& context,
                                        const nlohmann::json& options) {
  if (!options.is_object()) fail("model '{}': options must be an object", name);
  // The ReSN keys belong to the wrapper, every other key to the model itself.
  nlohmann::json own = options;
  std::optional<ResnOptions> resn;
  if (own.contains("resn_weight") || own.contains("resn_form")) {
    ResnOptions r;
    r.weight = read_option(own, name, "resn_weight", r.weight);
    r.form = parse_resn_form(read_option<std::string>(own, name, "resn_form", "power"));
    own.erase("resn_weight");
    own.erase("resn_form");
    resn = r;
  }
  auto model = make_base_model(name, context, own);
  if (!resn || resn->weight == 0) return model;
  return std::make_shared<WithResn>(model, *resn);
}

}  // namespace polyphony
