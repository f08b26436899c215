#include "tools/run/resume.h"

#include <algorithm>
#include <fstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/error.h"
#include "engine/run/run_directory.h"

namespace polyphony::cli {
namespace fs = std::filesystem;

namespace {

// The strings of `list`, a JSON array of strings in `file`.
std::vector<std::string> strings_of(const nlohmann::json& list, const fs::path& file) {
  if (!list.is_array()) fail("{} is corrupt (expected a list of arguments)", file.string());
  std::vector<std::string> out;
  for (const auto& a : list) {
    if (!a.is_string()) fail("{} is corrupt (an argument is not a string)", file.string());
    out.push_back(a.get<std::string>());
  }
  return out;
}

}  // namespace

nlohmann::json read_command(const fs::path& run) {
  if (!fs::is_directory(run)) fail("{}: no such run directory", run.string());
  const fs::path file = run / run_file::kCommand;
  std::ifstream in(file);
  if (!in)
    fail("{} is missing, so {} is not a run directory written by polyphony train", file.string(),
         run.string());
  auto json = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object() || !json.contains("arguments"))
    fail("{} is corrupt (expected {{\"arguments\": [...]}})", file.string());
  strings_of(json["arguments"], file);
  if (!json.contains("resumes")) json["resumes"] = nlohmann::json::array();
  if (!json["resumes"].is_array()) fail("{} is corrupt (\"resumes\" is not a list)", file.string());
  for (const auto& resume : json["resumes"])
    if (!resume.is_object() || !resume.contains("arguments"))
      fail("{} is corrupt (a resume without its arguments)", file.string());
    else
      strings_of(resume["arguments"], file);
  return json;
}

std::vector<std::string> resumed_arguments(const fs::path& run,
                                           const std::vector<std::string>& overrides) {
  const auto command = read_command(run);
  const fs::path file = run / run_file::kCommand;
  std::vector<std::string> arguments = strings_of(command["arguments"], file);
  for (const auto& resume : command["resumes"]) {
    const auto earlier = strings_of(resume["arguments"], file);
    arguments.insert(arguments.end(), earlier.begin(), earlier.end());
  }
  arguments.insert(arguments.end(), overrides.begin(), overrides.end());
  arguments.push_back("--out");
  arguments.push_back(run.string());
  return arguments;
}

const std::vector<std::string>& resumable_keys() {
  // What may differ without changing what is computed (device placement aside): the version
  // (the checkpoint format is checked on its own), where the data came from (parsed or cached),
  // how long to train, how often to checkpoint, the evaluation memory budget, the head items
  // of HeadShare/APLT and whether per-user metrics are written (reporting); and the learning
  // rate, to continue a diverged run more gently.
  static const std::vector<std::string> keys = {"/polyphony_version",
                                                "/device",
                                                "/data/cache",
                                                "/train/epochs",
                                                "/train/patience",
                                                "/train/lr",
                                                "/train/checkpoint_every_epochs",
                                                "/train/checkpoint_every_steps",
                                                "/train/keep_checkpoints",
                                                "/eval/eval_memory_mb",
                                                "/eval/head",
                                                "/eval/user_metrics"};
  return keys;
}

namespace {

void collect_differences(const nlohmann::json& before, const nlohmann::json& now,
                         const std::string& pointer, const std::vector<std::string>& ignored,
                         std::vector<std::string>& out) {
  if (std::find(ignored.begin(), ignored.end(), pointer) != ignored.end()) return;
  if (before.is_object() && now.is_object()) {
    for (const auto& [key, value] : before.items())
      collect_differences(value, now.contains(key) ? now[key] : nlohmann::json(),
                          pointer + "/" + key, ignored, out);
    for (const auto& [key, value] : now.items())
      if (!before.contains(key))
        collect_differences(nlohmann::json(), value, pointer + "/" + key, ignored, out);
    return;
  }
  if (before != now)
    out.push_back(fmt::format("{} ({} → {})", pointer.substr(1), before.dump(), now.dump()));
}

}  // namespace

std::vector<std::string> config_differences(const nlohmann::json& before, const nlohmann::json& now,
                                            const std::vector<std::string>& ignored) {
  std::vector<std::string> differences;
  collect_differences(before, now, "", ignored, differences);
  return differences;
}

void check_resumable(const nlohmann::json& before, const nlohmann::json& now, const fs::path& run,
                     const std::string& source) {
  const auto differences = config_differences(before, now, resumable_keys());
  if (differences.empty()) return;
  std::vector<std::string> allowed;
  for (const auto& key : resumable_keys()) allowed.push_back(key.substr(1));
  fail(
      "cannot resume {}: the run would differ from {} in {}; a resume may change only {} (start "
      "a new run for anything else)",
      run.string(), source, fmt::join(differences, ", "), fmt::join(allowed, ", "));
}

void truncate_epoch_log(const fs::path& file, int64_t epoch) {
  std::ifstream in(file);
  if (!in) return;
  std::string kept, line;
  while (std::getline(in, line)) {
    const auto json = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    // A line cut short by a crash does not parse: it is dropped with everything after it.
    if (!json.is_object() || !json.contains("epoch") || !json["epoch"].is_number_integer()) break;
    if (json["epoch"].get<int64_t>() > epoch) break;
    kept += line + "\n";
  }
  write_file_atomically(file, kept);
}

}  // namespace polyphony::cli
