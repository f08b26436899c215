// `polyphony train --json`: the standard output is the result alone, as JSON, and it is the
// result the run directory holds.

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "tests/test_support.h"
#include "tools/commands/commands.h"
#include "tools/options/device.h"

namespace polyphony {
namespace {

TEST(TrainCommand, JsonOutputIsTheResultAloneAndMatchesTheRunDirectory) {
  const testing::TempDir dir;
  const auto out = (dir.path() / "run").string();
  std::vector<std::string> arguments = {
      "train", "--dataset", "synthetic:music-small", "--epochs", "2", "--eval-every", "1", "--json",
      "--out", out};
  std::vector<char*> argv;
  for (auto& a : arguments) argv.push_back(a.data());
  ::testing::internal::CaptureStdout();
  const int status = cli::train(static_cast<int>(argv.size()), argv.data());
  const std::string printed = ::testing::internal::GetCapturedStdout();
  ASSERT_EQ(status, 0);
  // The whole output parses: no table or progress line is mixed in.
  const auto result = nlohmann::json::parse(printed);
  EXPECT_EQ(result.at("run"), out);
  EXPECT_EQ(result.at("summary").at("epochs_run"), 2);
  EXPECT_GE(result.at("summary").at("best_epoch"), 1);
  const auto saved = nlohmann::json::parse(std::ifstream(dir.path() / "run" / "metrics.json"));
  EXPECT_EQ(result.at("test"), saved);
  EXPECT_GT(result.at("test").at("metrics").at("NDCG@10").get<double>(), 0);
}

TEST(TrainCommand, ThreadsAreCappedAtTheCores) {
  const int before = at::get_num_threads();
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(cli::set_cpu_threads(cores + 1000), cores);
  EXPECT_EQ(::testing::internal::GetCapturedStderr(),
            fmt::format("--threads {}: this machine has {} cores; using {}\n", cores + 1000, cores,
                        cores));
  EXPECT_EQ(at::get_num_threads(), cores);
  EXPECT_EQ(cli::set_cpu_threads(1), 1);
  EXPECT_EQ(testing::error_of([] { cli::set_cpu_threads(0); }),
            "--threads must be at least 1 (got 0)");
  at::set_num_threads(before);
}

}  // namespace
}  // namespace polyphony
