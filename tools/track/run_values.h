#pragma once
// A run's values as trackers take them (TensorBoard, MLflow): the scalars of a metrics.jsonl
// line and the resolved config as flat key-value pairs. One rule for both, so the two show the
// same names.

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace polyphony::cli {

// The scalars of one metrics.jsonl line: objects flatten to "KEY/NAME" (losses/loss,
// valid/NDCG@10), other numbers are "train/KEY" (train/lr), "epoch" stays "epoch"; the global
// step is the x axis, not a scalar.
std::vector<std::pair<std::string, double>> epoch_scalars(const nlohmann::json& epoch_line);

// config.resolved.json flattened to its leaves ("model.config.dim" -> 64), in key order; a list
// becomes its JSON text, a null is left out.
std::vector<std::pair<std::string, nlohmann::json>> flat_config(const nlohmann::json& config);

}  // namespace polyphony::cli
