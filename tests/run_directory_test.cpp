// One writer per run directory: an advisory lock held for the life of the RunDirectory.

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include <fmt/format.h>

#include "engine/run/run_directory.h"
#include "tests/test_support.h"

namespace polyphony {
namespace {

using testing::error_of;
using testing::TempDir;

TEST(RunDirectory, ASecondWriterIsRefusedWhileTheFirstLives) {
  TempDir dir;
  const auto path = dir.path() / "run";
  const std::string in_use =
      fmt::format("run {} is in use by process {} (one process writes a run at a time)",
                  path.string(), ::getpid());
  {
    const auto first = RunDirectory::create(path);
    EXPECT_EQ(testing::read_file(path / run_file::kLock), fmt::format("{}\n", ::getpid()));
    // Another `train --out` on it, or a `--resume` of it, while it is being written.
    EXPECT_EQ(error_of([&] { RunDirectory::open(path); }), in_use);
    EXPECT_EQ(error_of([&] { RunDirectory::create(path); }), in_use);
    const auto copy = first;  // copies share the lock
    first.write_json(run_file::kConfigJson, {{"model", "mf"}});
  }
  // Released with the last copy: the run can be continued, but not created again.
  EXPECT_NO_THROW(RunDirectory::open(path));
  EXPECT_EQ(
      error_of([&] { RunDirectory::create(path); }),
      fmt::format("run directory {} already holds a run; choose another `out`", path.string()));
}

// run_writer names the process holding a run's lock, and its probe does not make that process's
// own next lock attempt fail.
TEST(RunDirectory, TheWriterOfARunIsKnownWhileItWrites) {
  TempDir dir;
  const auto path = dir.path() / "run";
  EXPECT_FALSE(run_writer(path).has_value());  // no run yet
  {
    const auto run = RunDirectory::create(path);
    EXPECT_EQ(run_writer(path), std::optional<int64_t>(::getpid()));
  }
  EXPECT_FALSE(run_writer(path).has_value());  // released
  EXPECT_NO_THROW(RunDirectory::open(path));
}

// A new run goes into a new or empty folder, or one a run of Polyphony was started in; never
// into the filesystem root, the home directory itself or a folder of other files.
TEST(RunDirectory, ANewRunIsRefusedWhereItWouldMixWithOtherFiles) {
  TempDir dir;
  const testing::ScopedEnvironment saved({"HOME"});
  ::setenv("HOME", (dir.path() / "home").c_str(), 1);
  std::filesystem::create_directories(dir.path() / "home");
  const auto refused = [](const std::filesystem::path& path, const std::string& expected) {
    const std::string error = error_of([&] { RunDirectory::create(path); });
    EXPECT_NE(error.find(expected), std::string::npos) << path << ": " << error;
  };
  refused("/", "`out` /: a run is not written into the filesystem root");
  refused(dir.path() / "home", "a run is not written into the home directory itself");
  refused(dir.path() / "home" / "." / "", "the home directory itself");
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "home" / run_file::kLock));
  // A folder of someone's files.
  const auto other = dir.path() / "photos";
  std::filesystem::create_directories(other);
  std::ofstream(other / "cat.jpg") << "meow";
  refused(other, "holds other files (cat.jpg first) and is not a run directory of Polyphony");
  EXPECT_FALSE(std::filesystem::exists(other / run_file::kLock));
  std::ofstream(dir.path() / "file") << "x";
  refused(dir.path() / "file", "is a file, not a folder");
  // Allowed: a new folder, an empty one, one where a run started but wrote no config yet.
  EXPECT_NO_THROW(RunDirectory::create(dir.path() / "new" / "run"));
  std::filesystem::create_directories(dir.path() / "empty");
  EXPECT_NO_THROW(RunDirectory::create(dir.path() / "empty"));
  const auto started = dir.path() / "started";
  std::filesystem::create_directories(started);
  std::ofstream(started / run_file::kCommand) << "{}";
  EXPECT_NO_THROW(RunDirectory::create(started));
  EXPECT_NO_THROW(RunDirectory::create(dir.path() / "home" / "runs" / "a"));
}

}  // namespace
}  // namespace polyphony
