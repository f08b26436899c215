#pragma once
// Reading a small JSON file that a run or a sweep wrote (metrics.json, sweep.json, failed/ID.json).

#include <filesystem>

#include <nlohmann/json.hpp>

namespace polyphony::cli {

// The JSON in `file`; a discarded value (is_discarded()) when the file is missing, unreadable or
// not JSON, so each caller decides whether that is an error and how to name it.
nlohmann::json read_json_file(const std::filesystem::path& file);

}  // namespace polyphony::cli
