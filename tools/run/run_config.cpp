#include "tools/run/run_config.h"

#include <fstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/error.h"
#include "engine/data/data_options.h"
#include "engine/eval/evaluator_options.h"
#include "engine/run/run_directory.h"
#include "tools/options/config_file.h"
#include "tools/options/data_options.h"
#include "tools/run/resume.h"

namespace polyphony::cli {
namespace fs = std::filesystem;

nlohmann::json run_config(const cxxopts::ParseResult& args, const TrainSetup& setup,
                          const PreparedData& data, const Recommender& model,
                          EmbeddingUpdates updates) {
  const nlohmann::json resolved = resolved_config_json(args);
  nlohmann::json config = {{"polyphony_version", POLYPHONY_VERSION},
                           {"seed", setup.seed},
                           {"data", data_config(data, setup.data)},
                           {"model", {{"name", model.kind()}, {"config", model.config()}}},
                           {"train", resolved.at("train")},
                           {"eval", resolved.at("eval")}};
  // `auto` as it resolved: a run of `dense` from before `auto` existed resumes as one of `auto`
  // that chose dense.
  config["train"]["embedding_updates"] = embedding_updates_name(updates);
  config["eval"]["ks"] = setup.eval.ks;
  config["eval"]["head_share"] = setup.eval.head_share;
  return config;
}

const std::vector<std::string>& not_what_a_model_scores() {
  // Where the run ran and where its data was cached; how the embedding tables were updated,
  // which a run from before `auto` recorded as dense where its command now resolves otherwise;
  // and whether steps were replayed from a CUDA graph (the same step either way).
  static const std::vector<std::string> keys = {
      "/polyphony_version",       "/device",          "/processes", "/data/cache",
      "/train/embedding_updates", "/train/cuda_graph"};
  return keys;
}

nlohmann::json known_to(const nlohmann::json& now, const nlohmann::json& recorded) {
  if (!now.is_object() || !recorded.is_object()) return now;
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [key, value] : now.items())
    if (recorded.contains(key)) out[key] = known_to(value, recorded[key]);
  return out;
}

void check_recorded_config(const fs::path& run, const nlohmann::json& rebuilt) {
  const fs::path file = run / run_file::kConfigJson;
  std::ifstream in(file);
  const auto recorded = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!recorded.is_object())
    fail("{}: missing or damaged (it is not a JSON object)", file.string());
  auto differences =
      config_differences(recorded, known_to(rebuilt, recorded), not_what_a_model_scores());
  if (differences.empty()) return;
  if (differences.size() > 3) differences.resize(3);
  fail(
      "{} differs from the configuration the run's {} gives, in {}: config.resolved.json is "
      "written from command.json and is not read back; was it edited? (restore it, or train a "
      "new run with the settings you want)",
      file.string(), run_file::kCommand, fmt::join(differences, ", "));
}

}  // namespace polyphony::cli
