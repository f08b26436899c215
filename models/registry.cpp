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

// The options of a model that has none.
struct NoOptions {};

// `settings` of `model` read through `options` and checked into a builder of Model.
template <typename Model, typename Options>
ModelBuilder read_builder(const std::vector<Option<Options>>& options,
                          const nlohmann::json& settings, const std::string& model,
                          Options defaults = {}) {
  read_model_settings(options, settings, model, defaults);
  check_options(defaults);
  return builder<Model>(defaults);
}

// Reads `options` of the base model `name` (no ReSN keys) into the builder of that model.
ModelBuilder base_model_builder(const std::string& name, const nlohmann::json& options) {
  if (name == "mf")
    return read_builder<MatrixFactorization>(matrix_factorization_option_list(), options, name);
  if (name == "svd") return read_builder<SvdRecommender>(svd_option_list(), options, name);
  if (name == "uprotomf" || name == "iprotomf" || name == "uiprotomf") {
    ProtoMFOptions o;
    o.sides = name == "uprotomf"   ? PrototypeSides::kUser
              : name == "iprotomf" ? PrototypeSides::kItem
                                   : PrototypeSides::kBoth;
    return read_builder<ProtoMF>(protomf_option_list(), options, name, o);
  }
  if (name == "acf") return read_builder<Acf>(acf_option_list(), options, name);
  if (name == "lightgcn") return read_builder<LightGcn>(lightgcn_option_list(), options, name);
  if (name == "multi-interest")
    return read_builder<MultiInterest>(multi_interest_option_list(), options, name);
  if (name == "pop") {
    NoOptions none;  // any key is unknown
    read_model_settings(std::vector<Option<NoOptions>>{}, options, name, none);
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
  nlohmann::json own = options, resn_settings = nlohmann::json::object();
  for (const auto& option : resn_option_list())
    if (own.contains(option.name)) {
      resn_settings[option.name] = own[option.name];
      own.erase(option.name);
    }
  auto base = base_model_builder(name, own);
  if (resn_settings.empty()) return base;
  ResnOptions resn;
  read_model_settings(resn_option_list(), resn_settings, name, resn);
  check_options(resn);
  if (resn.weight == 0) return base;
  return [base, resn](const ModelContext& context) -> std::shared_ptr<Recommender> {
    return std::make_shared<WithResn>(base(context), resn);
  };
}

}  // namespace

const std::vector<ModelShortcut>& model_shortcuts() {
  static const std::vector<ModelShortcut> shortcuts = [] {
    std::vector<ModelShortcut> all;
    std::vector<std::string> models;  // of each shortcut, for its help
    const auto add = [&](const std::vector<ModelShortcut>& more, const std::string& names) {
      for (const auto& shortcut : more) {
        const auto same = std::find_if(all.begin(), all.end(), [&](const ModelShortcut& s) {
          return s.flag == shortcut.flag;
        });
        if (same != all.end()) {
          models[same - all.begin()] += ", " + names;
          continue;
        }
        all.push_back(shortcut);
        models.push_back(names);
      }
    };
    add(shortcuts_of(matrix_factorization_option_list()), "mf");
    add(protomf_shortcuts(), "the ProtoMF models");
    add(shortcuts_of(protomf_option_list()), "the ProtoMF models");
    add(shortcuts_of(acf_option_list()), "acf");
    add(shortcuts_of(lightgcn_option_list()), "lightgcn");
    add(shortcuts_of(multi_interest_option_list()), "multi-interest");
    add(shortcuts_of(resn_option_list()), "every trained model");
    for (size_t k = 0; k < all.size(); ++k) all[k].help += " (" + models[k] + ")";
    return all;
  }();
  return shortcuts;
}

void check_model_options(const std::string& name, const nlohmann::json& options) {
  model_builder(name, options);
}

std::shared_ptr<Recommender> make_model(const std::string& name, const ModelContext& context,
                                        const nlohmann::json& options) {
  return model_builder(name, options)(context);
}

}  // namespace polyphony
