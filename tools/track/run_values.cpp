#include "tools/track/run_values.h"

namespace polyphony::cli {

namespace {

void flatten(const nlohmann::json& value, const std::string& name,
             std::vector<std::pair<std::string, nlohmann::json>>& out) {
  if (value.is_object()) {
    for (const auto& [key, item] : value.items())
      flatten(item, name.empty() ? key : name + "." + key, out);
  } else if (value.is_array()) {
    out.emplace_back(name, value.dump());
  } else if (!value.is_null()) {
    out.emplace_back(name, value);
  }
}

}  // namespace

std::vector<std::pair<std::string, double>> epoch_scalars(const nlohmann::json& epoch_line) {
  std::vector<std::pair<std::string, double>> out;
  for (const auto& [key, value] : epoch_line.items()) {
    if (key == "global_step") continue;
    if (value.is_object()) {
      for (const auto& [name, number] : value.items())
        if (number.is_number()) out.emplace_back(key + "/" + name, number.get<double>());
    } else if (value.is_number()) {
      out.emplace_back(key == "epoch" ? key : "train/" + key, value.get<double>());
    }
  }
  return out;
}

std::vector<std::pair<std::string, nlohmann::json>> flat_config(const nlohmann::json& config) {
  std::vector<std::pair<std::string, nlohmann::json>> out;
  flatten(config, "", out);
  return out;
}

}  // namespace polyphony::cli
