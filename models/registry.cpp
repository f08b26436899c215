#include "models/registry.h"

#include <set>

#include "common/error.h"
#include "models/matrix_factorization.h"
#include "models/popularity.h"

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
      fail("model '{}': unknown option '{}' (known: {})", model, key,
           list.empty() ? "none" : list);
    }
  }
}

}  // namespace

const std::vector<ModelInfo>& available_models() {
  static const std::vector<ModelInfo> models = {
      {"mf", "matrix factorisation, score = e_u . e_i"},
      {"pop", "most-popular baseline (no training)"},
  };
  return models;
}

std::shared_ptr<Recommender> make_model(const std::string& name, const ModelContext& context,
                                        const nlohmann::json& options) {
  if (!options.is_object()) fail("model '{}': options must be an object", name);
  if (name == "mf") {
    reject_unknown_keys(options, name, {"dim", "init_std"});
    MatrixFactorizationOptions o;
    o.dim = read_option(options, name, "dim", o.dim);
    o.init_std = read_option(options, name, "init_std", o.init_std);
    return std::make_shared<MatrixFactorization>(context, o);
  }
  if (name == "pop") {
    reject_unknown_keys(options, name, {});
    return std::make_shared<Popularity>(context);
  }
  std::string list;
  for (const auto& m : available_models()) list += (list.empty() ? "" : ", ") + m.name;
  fail("unknown model '{}' (available: {})", name, list);
}

}  // namespace polyphony
