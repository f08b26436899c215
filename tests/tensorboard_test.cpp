// TensorBoard event files: TFRecord framing with masked CRC-32C, what a resumed run keeps, the
// writer's cut-back on resume; and the names and values both trackers log (TensorBoard, MLflow).
// That the stock `tensorboard` and a real MLflow server read them is checked end to end by
// tests/tensorboard_test.sh and tests/mlflow_test.sh.

#include <gtest/gtest.h>

#include <cstdlib>

#include <nlohmann/json.hpp>

#include "engine/track/tensorboard_events.h"
#include "engine/track/tensorboard_writer.h"
#include "tests/test_support.h"
#include "tools/track/mlflow_log.h"
#include "tools/track/run_values.h"
#include "tools/track/tensorboard_log.h"

namespace polyphony {
namespace {

using testing::TempDir;
namespace tb = tensorboard;

TEST(TensorBoardEvents, MaskedCrc32cOfTheStandardCheckString) {
  // CRC-32C("123456789") = 0xE3069283 (the CRC catalogue's check value), masked as TensorFlow does.
  const uint32_t crc = 0xE3069283u;
  EXPECT_EQ(tb::masked_crc32c("123456789"), ((crc >> 15) | (crc << 17)) + 0xa282ead8u);
}

TEST(TensorBoardEvents, RecordsRoundTripAndADamagedTailIsDropped) {
  const std::vector<std::string> data = {"first", std::string(300, 'x'), ""};
  std::string bytes;
  for (const auto& d : data) bytes += tb::frame_record(d);
  EXPECT_EQ(tb::frame_record("first").size(), 8 + 4 + 5 + 4u);
  auto read = tb::read_records(bytes);
  EXPECT_EQ(read.records, data);
  EXPECT_EQ(read.valid_bytes, bytes.size());

  // A writer killed in the middle of the last record.
  const size_t two = tb::frame_record(data[0]).size() + tb::frame_record(data[1]).size();
  read = tb::read_records(std::string_view(bytes).substr(0, bytes.size() - 1));
  EXPECT_EQ(read.records, std::vector<std::string>(data.begin(), data.begin() + 2));
  EXPECT_EQ(read.valid_bytes, two);

  // A flipped byte in the second record's data, or in its length.
  std::string flipped = bytes;
  flipped[tb::frame_record(data[0]).size() + 12 + 7] ^= 1;
  EXPECT_EQ(tb::read_records(flipped).records.size(), 1u);
  flipped = bytes;
  flipped[tb::frame_record(data[0]).size()] ^= 1;
  EXPECT_EQ(tb::read_records(flipped).records.size(), 1u);
}

TEST(TensorBoardEvents, AResumedRunKeepsTheEventsUpToItsStep) {
  EXPECT_TRUE(tb::kept_on_resume(tb::file_version_event(1), 0));
  EXPECT_TRUE(tb::kept_on_resume(tb::scalars_event(1, 5, {{"losses/loss", 0.5}}), 5));
  EXPECT_FALSE(tb::kept_on_resume(tb::scalars_event(1, 6, {{"losses/loss", 0.5}}), 5));
  // The resumed run starts the session again (with its config) and ends it again.
  EXPECT_FALSE(tb::kept_on_resume(tb::hparams_start_event(1, {{"lr", 0.1}}, "", 1), 5));
  EXPECT_FALSE(tb::kept_on_resume(tb::hparams_end_event(1, 3, true), 5));
  EXPECT_FALSE(tb::kept_on_resume("\xff\xff not an event", 5));
}

// The records of each event file in `folder`, in reading order.
std::vector<std::vector<std::string>> records_by_file(const std::filesystem::path& folder) {
  std::vector<std::vector<std::string>> out;
  for (const auto& file : event_files(folder))
    out.push_back(tb::read_records(testing::read_file(file)).records);
  return out;
}

TEST(TensorBoardWriter, AResumedRunCutsTheEarlierFilesBackAndMarksItsStart) {
  TempDir dir;
  const auto folder = dir.path() / "tensorboard";
  {
    TensorBoardWriter first(folder, std::nullopt);
    first.session_start({{"model.name", std::string("mf")}, {"train.lr", 0.01}}, "");
    for (int64_t step = 1; step <= 4; ++step) first.scalars(step, {{"losses/loss", 1.0 / step}});
    first.session_end(4, true);
  }
  auto files = records_by_file(folder);
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].size(), 7u);  // version, session start, 4 scalars, session end

  TensorBoardWriter resumed(folder, 2);
  files = records_by_file(folder);
  ASSERT_EQ(files.size(), 2u);
  ASSERT_EQ(files[0].size(), 3u);  // version, steps 1 and 2
  EXPECT_NE(files[0][2].find("losses/loss"), std::string::npos);
  for (const auto& record : files[0]) EXPECT_TRUE(tb::kept_on_resume(record, 2));
  EXPECT_FALSE(tb::kept_on_resume(files[0][2], 1));  // the step-2 scalars
  ASSERT_EQ(files[1].size(), 2u);                    // version, SessionLog START at step 3
  EXPECT_TRUE(tb::kept_on_resume(files[1][1], 3));
  EXPECT_FALSE(tb::kept_on_resume(files[1][1], 2));
}

TEST(RunValues, EpochScalarsAreTheMetricsLineFlattened) {
  const auto line = nlohmann::json::parse(R"({"epoch": 3, "global_step": 120,
      "losses": {"loss": 0.5, "ranking": 0.4, "resn": 0.1}, "lr": 0.001, "seconds": 2.5,
      "valid": {"NDCG@10": 0.25}, "peak_rss_mb": 812})");
  const std::vector<std::pair<std::string, double>> expected = {
      {"epoch", 3},           {"losses/loss", 0.5},   {"losses/ranking", 0.4},
      {"losses/resn", 0.1},   {"train/lr", 0.001},    {"train/peak_rss_mb", 812},
      {"train/seconds", 2.5}, {"valid/NDCG@10", 0.25}};
  EXPECT_EQ(cli::epoch_scalars(line), expected);
}

TEST(TensorBoardLog, HyperParametersAreTheConfigFlattened) {
  const auto config = nlohmann::json::parse(
      R"({"model": {"name": "mf", "config": {"dim": 64}}, "eval": {"ks": [10, 20]},
          "train": {"deterministic": false}, "seed": 7})");
  const auto hparams = cli::config_hparams(config);
  ASSERT_EQ(hparams.size(), 5u);
  EXPECT_EQ(hparams[0].name, "eval.ks");
  EXPECT_EQ(std::get<std::string>(hparams[0].value), "[10,20]");
  EXPECT_EQ(hparams[1].name, "model.config.dim");
  EXPECT_EQ(std::get<double>(hparams[1].value), 64);
  EXPECT_EQ(hparams[2].name, "model.name");
  EXPECT_EQ(std::get<std::string>(hparams[2].value), "mf");
  EXPECT_EQ(hparams[3].name, "seed");
  EXPECT_EQ(hparams[4].name, "train.deterministic");
  EXPECT_FALSE(std::get<bool>(hparams[4].value));
}

TEST(RunValues, MlflowNamesKeepOnlyWhatMlflowAccepts) {
  EXPECT_EQ(cli::mlflow_name("valid/NDCG@10"), "valid/NDCG_at_10");
  EXPECT_EQ(cli::mlflow_name("test/Exposure@10[US]"), "test/Exposure_at_10_US");
  EXPECT_EQ(cli::mlflow_name("test/UserGap[NDCG@10]"), "test/UserGap_NDCG_at_10");
  EXPECT_EQ(cli::mlflow_name("test/NDCG@10[users:Q1]"), "test/NDCG_at_10_users:Q1");
  EXPECT_EQ(cli::mlflow_name("model.config.k_filter"), "model.config.k_filter");
  EXPECT_EQ(cli::mlflow_name("a+b,c"), "a_b_c");
}

TEST(RunValues, GitCommitOfAFileInAWorkTree) {
  TempDir dir;
  EXPECT_EQ(cli::git_commit_of(dir.path() / "config.toml"), "");  // not a work tree
  const std::string git = "git -C '" + dir.path().string() + "' ";
  ASSERT_EQ(std::system((git + "init -q && " + git +
                         "-c user.email=t@t -c user.name=t commit -q --allow-empty -m t")
                            .c_str()),
            0);
  const std::string commit = cli::git_commit_of(dir.path() / "config.toml");
  EXPECT_EQ(commit.size(), 40u);
  EXPECT_EQ(cli::git_commit_of(dir.path()), commit);
}

}  // namespace
}  // namespace polyphony
