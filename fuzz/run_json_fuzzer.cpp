// Any bytes read as a run directory's JSON: command.json (replayed by --resume) or the per-epoch
// log metrics.jsonl (cut back to the last checkpoint's epoch on resume). The first byte picks the
// file and the epoch.

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "common/error.h"
#include "fuzz/scratch_file.h"
#include "tools/run/resume.h"

namespace {

using polyphony::fuzz::require;

void replay_command(const std::filesystem::path& run) {
  const auto arguments = polyphony::cli::resumed_arguments(run, {"--epochs", "3"});
  require(arguments.size() >= 4, "the overrides and --out RUN are appended");
  require(arguments[arguments.size() - 2] == "--out" && arguments.back() == run.string(),
          "the replay ends with --out RUN");
}

std::string contents(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void cut_epoch_log(const std::filesystem::path& file, const std::string& original, int64_t epoch) {
  polyphony::cli::truncate_epoch_log(file, epoch);
  const std::string kept = contents(file);
  // What is kept is whole lines from the start of the log, never anything new.
  require(kept.empty() || kept.back() == '\n', "the kept log ends a line");
  const std::string body = kept.empty() ? kept : kept.substr(0, kept.size() - 1);
  require(original.compare(0, body.size(), body) == 0, "the kept log is a prefix of the log");
  require(original.size() == body.size() || original[body.size()] == '\n' || body.empty(),
          "the log is cut at a line's end");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const auto run = polyphony::fuzz::scratch_folder() / "run";
  std::filesystem::create_directories(run);
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  try {
    if (data[0] & 1) {
      polyphony::fuzz::write_scratch("run/metrics.jsonl", data + 1, size - 1);
      cut_epoch_log(run / "metrics.jsonl", text, (data[0] >> 1) % 8);
    } else {
      polyphony::fuzz::write_scratch("run/command.json", data + 1, size - 1);
      replay_command(run);
    }
  } catch (const polyphony::Error&) {
  }
  return 0;
}
