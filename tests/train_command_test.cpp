// `polyphony train --json`: the standard output is the result alone, as JSON, and it is the
// result the run directory holds.

#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "tests/test_support.h"
#include "tools/commands.h"

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

}  // namespace
}  // namespace polyphony
