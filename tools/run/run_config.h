#pragma once
// What a run computes, as config.resolved.json records it: the resolved train and eval options,
// the data as read and split, the model's own config and the seed. `polyphony train` writes it
// (with the device and the process count) and compares it on --resume; eval, recommend and
// export rebuild it from command.json and refuse a run directory whose file says otherwise.

#include <filesystem>
#include <string>
#include <vector>

#include <cxxopts.hpp>
#include <nlohmann/json.hpp>

#include "engine/data/prepared_data.h"
#include "engine/train/optimization.h"
#include "models/recommender.h"
#include "tools/options/train_options.h"

namespace polyphony::cli {

// `updates` is the embedding updates the run resolved (`auto` as it chose).
nlohmann::json run_config(const cxxopts::ParseResult& args, const TrainSetup& setup,
                          const PreparedData& data, const Recommender& model,
                          EmbeddingUpdates updates);

// The configuration keys (JSON pointers) that do not change what a saved model scores, left out
// when a run is opened to use its model.
const std::vector<std::string>& not_what_a_model_scores();

// `now` without the keys `recorded` lacks (options added since a run was recorded), at every
// level of objects.
nlohmann::json known_to(const nlohmann::json& now, const nlohmann::json& recorded);

// The configuration `run`'s config.resolved.json records, checked against `rebuilt` (run_config
// of the run's own command.json): a missing or damaged file, or any difference but the version,
// keys of not_what_a_model_scores, is an Error naming the file and the first differences.
void check_recorded_config(const std::filesystem::path& run, const nlohmann::json& rebuilt);

}  // namespace polyphony::cli
