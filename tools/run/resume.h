#pragma once
// What makes `polyphony train --resume RUN_DIR` the same run: the original command line is kept
// in the run directory and replayed, and the resolved configuration (data fingerprint included)
// must match the checkpoint's, apart from the few keys a resume may change.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace polyphony::cli {

// The run's command.json: {"arguments": [the first run's], "resumes": [{"arguments": [each
// resume's own], "date"}, ...]}, so the history of a run is kept. A missing or corrupt file is
// an error naming it.
nlohmann::json read_command(const std::filesystem::path& run);

// The arguments of the run in `run` (its own, then each resume's), followed by `overrides` and
// `--out RUN`. A missing or unreadable command file is an error naming it.
std::vector<std::string> resumed_arguments(const std::filesystem::path& run,
                                           const std::vector<std::string>& overrides);

// The configuration keys a resume may change, as JSON pointers.
const std::vector<std::string>& resumable_keys();

// The differences between two run configurations, each as "KEY (BEFORE → NOW)", KEY a JSON
// pointer without its leading '/', leaving out the pointers in `ignored`.
std::vector<std::string> config_differences(const nlohmann::json& before, const nlohmann::json& now,
                                            const std::vector<std::string>& ignored);

// Refuses (an Error naming the run, `source` — the checkpoint or file `before` came from — and
// each differing key with both values) when `now` differs from `before` anywhere outside
// resumable_keys().
void check_resumable(const nlohmann::json& before, const nlohmann::json& now,
                     const std::filesystem::path& run, const std::string& source);

// Keeps the lines of the per-epoch log `file` whose "epoch" is at most `epoch`, so epochs that
// are trained again after a resume are not logged twice. A missing file is left missing.
void truncate_epoch_log(const std::filesystem::path& file, int64_t epoch);

}  // namespace polyphony::cli
