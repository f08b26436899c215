// One writer per run directory: an advisory lock held for the life of the RunDirectory.

#include <gtest/gtest.h>
#include <unistd.h>

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

}  // namespace
}  // namespace polyphony
