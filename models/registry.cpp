#include "models/registry.h"

#include <algorithm>
#include <functional>
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

// Reads a model's options key by key; `finish` rejects every key that was not read, naming
// those that were, so the accepted keys are listed once: where they are read.
class OptionReader {
 public:
  OptionReader(const nlohmann::json& options, std::string model)
      : options_(options), model_(std::move(model)) {}

  template <typename T>
  void read(const std::string& key, T& field) {
    known_.insert(key);
    field = read_option(options_, model_, key, field);
  }
  // An option without a default: set only when given.
  template <typename T>
  void read(const std::string& key, std::optional<T>& field) {
    known_.insert(key);
    if (options_.contains(key)) field = read_option(options_, model_, key, T{});
  }

  void finish() const {
    for (const auto& [key, value] : options_.items()) {
      if (known_.count(key)) continue;
      std::string list;
      for (const auto& k : known_) list += (list.empty() ? "" : ", ") + k;
      fail("model '{}': unknown option '{}' (known: {})", model_, key,
           list.empty() ? "none" : list);
    }
  }

 private:
  const nlohmann::json& options_;
  std::string model_;
  std::set<std::string> known_;
};

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
      {"svd", "item-based on truncated-SVD PPMI item embeddings (option rank; no training)", false},
      {"pop", "most-popular baseline (no training)", false},
  };
  return models;
}

namespace {

// A model's options read and checked (names and types), and how to build it from a context.
using ModelBuilder = std::function<std::shared_ptr<Recommender>(const ModelContext&)>;

template <typename Model, typename Options>
ModelBuilder builder(const Options& options) {
  return
      [options](const ModelContext& context) { return std::make_shared<Model>(context, options); };
}

// Reads `options` of the base model `name` (no ReSN keys) into the builder of that model.
ModelBuilder base_model_builder(const std::string& name, const nlohmann::json& options) {
  OptionReader option(options, name);
  if (name == "mf") {
    MatrixFactorizationOptions o;
    option.read("dim", o.dim);
    option.read("init_std", o.init_std);
    option.finish();
    return builder<MatrixFactorization>(o);
  }
  if (name == "svd") {
    TruncatedSvdOptions o;
    option.read("rank", o.rank);
    option.read("min_cooccurrence", o.min_cooccurrence);
    option.read("oversampling", o.oversampling);
    option.read("power_iterations", o.power_iterations);
    option.read("seed", o.seed);
    option.finish();
    return builder<SvdRecommender>(o);
  }
  if (name == "uprotomf" || name == "iprotomf" || name == "uiprotomf") {
    ProtoMFOptions o;
    o.sides = name == "uprotomf"   ? PrototypeSides::kUser
              : name == "iprotomf" ? PrototypeSides::kItem
                                   : PrototypeSides::kBoth;
    option.read("dim", o.dim);
    option.read("user_prototypes", o.user_prototypes);
    option.read("item_prototypes", o.item_prototypes);
    option.read("k_user", o.k_user);
    option.read("k_item", o.k_item);
    option.read("user_proto_weight", o.user_proto_weight);
    option.read("user_batch_weight", o.user_batch_weight);
    option.read("item_proto_weight", o.item_proto_weight);
    option.read("item_batch_weight", o.item_batch_weight);
    option.read("ortho_weight", o.ortho_weight);
    option.read("ortho_user_weight", o.ortho_user_weight);
    option.read("ortho_item_weight", o.ortho_item_weight);
    std::string ortho_form = "default";
    option.read("ortho_form", ortho_form);
    option.finish();
    o.ortho_form = parse_ortho_form(ortho_form);
    return builder<ProtoMF>(o);
  }
  if (name == "acf") {
    AcfOptions o;
    option.read("dim", o.dim);
    option.read("anchors", o.anchors);
    option.read("exclusiveness_weight", o.exclusiveness_weight);
    option.read("inclusiveness_weight", o.inclusiveness_weight);
    option.read("init_std", o.init_std);
    option.finish();
    return builder<Acf>(o);
  }
  if (name == "lightgcn") {
    LightGcnOptions o;
    option.read("dim", o.dim);
    option.read("layers", o.layers);
    option.read("init_std", o.init_std);
    option.read("decay", o.decay);
    option.finish();
    return builder<LightGcn>(o);
  }
  if (name == "multi-interest") {
    MultiInterestOptions o;
    option.read("dim", o.dim);
    option.read("layers", o.layers);
    option.read("interests", o.interests);
    option.read("temperature", o.temperature);
    option.read("epsilon", o.epsilon);
    option.read("init_std", o.init_std);
    option.finish();
    return builder<MultiInterest>(o);
  }
  if (name == "pop") {
    option.finish();
    return [](const ModelContext& context) { return std::make_shared<Popularity>(context); };
  }
  std::string list;
  for (const auto& m : available_models()) list += (list.empty() ? "" : ", ") + m.name;
  fail("unknown model '{}' (available: {})", name, list);
}

// Reads `options` of `name` (the ReSN keys included) into the builder of the model.
ModelBuilder model_builder(const std::string& name, const nlohmann::json& options) {
  if (!options.is_object()) fail("model '{}': options must be an object", name);
  // The ReSN keys belong to the wrapper, every other key to the model itself.
  nlohmann::json own = options;
  std::optional<ResnOptions> resn;
  const char* const resn_keys[] = {"resn_weight", "resn_form", "resn_unique_users",
                                   "resn_per_user"};
  if (std::any_of(std::begin(resn_keys), std::end(resn_keys),
                  [&](const char* key) { return own.contains(key); })) {
    ResnOptions r;
    r.weight = read_option(own, name, "resn_weight", r.weight);
    r.form = parse_resn_form(read_option<std::string>(own, name, "resn_form", "power"));
    r.unique_users = read_option(own, name, "resn_unique_users", r.unique_users);
    r.per_user = read_option(own, name, "resn_per_user", r.per_user);
    for (const char* key : resn_keys) own.erase(key);
    resn = r;
  }
  auto base = base_model_builder(name, own);
  if (!resn || resn->weight == 0) return base;
  return [base, resn = *resn](const ModelContext& context) -> std::shared_ptr<Recommender> {
    return std::make_shared<WithResn>(base(context), resn);
  };
}

}  // namespace

void check_model_options(const std::string& name, const nlohmann::json& options) {
  model_builder(name, options);
}

std::shared_ptr<Recommender> make_model(const std::string& name, const ModelContext& context,
                                        const nlohmann::json& options) {
  return model_builder(name, options)(context);
}

}  // namespace polyphony
