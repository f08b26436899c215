#pragma once
// A run's directory: the resolved config, metrics, id maps and the model, each written
// atomically (temporary file, fsync, rename) so a crash never leaves a half-written file.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/io/atomic_file.h"

namespace polyphony {

class Recommender;

// The files of a run directory (docs/training.md describes each).
namespace run_file {
inline constexpr const char* kCommand = "command.json";  // the arguments, replayed by --resume
inline constexpr const char* kConfigJson = "config.resolved.json";
inline constexpr const char* kConfigToml = "config.resolved.toml";
inline constexpr const char* kEpochLog = "metrics.jsonl";
inline constexpr const char* kTestMetrics = "metrics.json";
inline constexpr const char* kUserMetrics = "metrics.users.tsv";  // --user-metrics
inline constexpr const char* kSummary = "summary.json";
inline constexpr const char* kModel = "model.pt";
inline constexpr const char* kChecksumSuffix = ".xxh64";  // model.pt.xxh64: the file's checksum
inline constexpr const char* kUsers = "users.txt";
inline constexpr const char* kItems = "items.txt";
inline constexpr const char* kCheckpoints = "checkpoints";  // a folder
inline constexpr const char* kLock = "run.lock";  // flock'ed by the process writing the run
}  // namespace run_file

class RunDirectory {
 public:
  // Creates `path` (and parents). Refuses a directory that already holds a run, so one run never
  // overwrites another's results.
  static RunDirectory create(const std::filesystem::path& path);
  // An existing run directory, to continue the run in it.
  static RunDirectory open(const std::filesystem::path& path);
  // Both hold an advisory lock (flock on run.lock) for as long as the RunDirectory or a copy of
  // it lives: a second writer, e.g. `train --out X` twice or `--resume X` while X trains, gets
  // "run X is in use by process PID". The kernel drops the lock when the process dies.

  const std::filesystem::path& path() const { return path_; }

  void write_json(const std::string& name, const nlohmann::json& value) const;
  void append_json_line(const std::string& name, const nlohmann::json& value) const;
  // One external id per line, in dense-index order.
  void write_lines(const std::string& name, const std::vector<std::string>& lines) const;
  // The model's parameters and buffers as NAME, with their checksum as NAME.xxh64.
  void save_model(const std::string& name, Recommender& model) const;

 private:
  class Lock;
  RunDirectory(std::filesystem::path path, std::shared_ptr<Lock> lock)
      : path_(std::move(path)), lock_(std::move(lock)) {}
  std::filesystem::path path_;
  std::shared_ptr<Lock> lock_;
};

// Refuses, naming `path`, a folder a new run must not go into: the filesystem root, the home
// directory itself, a finished run, or a folder holding other files that is not a run directory
// of Polyphony (one without its run.lock or command.json). A new or empty folder is fine.
void check_new_run_directory(const std::filesystem::path& path);

// The process that writes the run in `path` now (holds its lock), or nothing when none does.
std::optional<int64_t> run_writer(const std::filesystem::path& path);

// Loads parameters and buffers saved by RunDirectory::save_model into `model`, which must have
// been built with the same kind and config, after checking the file against the checksum saved
// beside it (PATH.xxh64). Errors name the file.
void load_model(const std::filesystem::path& path, Recommender& model);

}  // namespace polyphony
