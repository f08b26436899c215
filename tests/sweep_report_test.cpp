// What `polyphony report` makes of its points' files: a value that is not a number is an error
// naming the file and field, a missing or null metric a warning with the seed count in the cell,
// and per-user files that are cut short, hold other users or non-finite values are refused, by
// file and line, rather than tested on fewer pairs.

#include <fstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "engine/run/run_directory.h"
#include "tests/test_support.h"
#include "tools/report/sweep_report.h"
#include "tools/sweep/sweep_plan.h"
#include "tools/sweep/sweep_runner.h"

namespace polyphony::cli {
namespace {

using testing::error_of;
using testing::TempDir;

const std::filesystem::path kConfigFolder = testing::configs_folder();

// A sweep of two variants (A, the baseline, and B) over two seeds, each point finished with
// NDCG@10 = 0.1 (A) or 0.2 (B) + seed / 100 and per-user NDCG@10 for users u0..u39.
class FakeSweep {
 public:
  FakeSweep() {
    const auto file = dir_.path() / "study.toml";
    std::ofstream(file) << "[sweep]\nbase = \"" << (kConfigFolder / "mf-bpr.toml").string()
                        << "\"\nseeds = [1, 2]\nbaseline = \"A\"\n[variants.A]\nmodel.dim = 8\n"
                           "[variants.B]\nmodel.dim = 16\n";
    plan_ = read_sweep_plan(file);
    std::ofstream(root() / "sweep.json") << plan_json(plan_).dump();
    for (const auto& point : plan_.points) {
      const double ndcg =
          (point.variant == "A" ? 0.1 : 0.2) + static_cast<double>(point.seed) / 100;
      write_point(point.id, nlohmann::json{{"metrics", {{"NDCG@10", ndcg}, {"ARP@10", 50.0}}}});
      std::string users = "user\tNDCG@10\tRecall@10\n";
      for (int u = 0; u < 40; ++u) users += fmt::format("u{}\t{}\t0.5\n", u, ndcg + u * 1e-3);
      write(point.id, run_file::kUserMetrics, users);
    }
  }
  std::filesystem::path root() const { return dir_.path(); }
  std::filesystem::path point(const std::string& id) const { return root() / "points" / id; }
  void write(const std::string& id, const std::string& name, const std::string& text) const {
    std::filesystem::create_directories(point(id));
    std::ofstream(point(id) / name) << text;
  }
  void write_point(const std::string& id, const nlohmann::json& metrics) const {
    write(id, run_file::kSummary, "{}");
    write(id, run_file::kTestMetrics, metrics.dump());
  }
  SweepReport report() const {
    ReportOptions options;
    options.significance_metrics = {"NDCG@10"};
    options.pareto = {{"NDCG@10", "ARP@10"}};
    return compute_sweep_report(root(), options);
  }

 private:
  TempDir dir_;
  SweepPlan plan_;
};

const ReportGroup& group(const SweepReport& report, const std::string& variant) {
  for (const auto& g : report.groups)
    if (g.variant == variant) return g;
  throw std::runtime_error("no group " + variant);
}

// The arrows and Pareto fronts read a metric's direction from its name.
TEST(SweepReport, RanksAndGapsAreBetterLower) {
  for (const char* lower : {"ARP@10", "AvgRankGap", "AvgRank[US]", "CandidateRank[JP]",
                            "CandidateRank[under]", "CandidateRankGap"})
    EXPECT_FALSE(higher_is_better(lower)) << lower;
  for (const char* higher : {"HR@10", "NDCG@10", "APLT@10", "Coverage@10"})
    EXPECT_TRUE(higher_is_better(higher)) << higher;
}

TEST(SweepReport, CompleteSweepHasNoWarningsAndPairsEveryUser) {
  const FakeSweep sweep;
  const auto report = sweep.report();
  EXPECT_TRUE(report.warnings.empty());
  EXPECT_EQ(group(report, "B").metrics.at("NDCG@10").n, 2);
  ASSERT_EQ(report.significance.size(), 1u);
  EXPECT_EQ(report.significance[0].t.n, 80);  // 2 seeds × 40 users
}

TEST(SweepReport, AMetricThatIsNotANumberNamesTheFileAndField) {
  const FakeSweep sweep;
  sweep.write_point("variant=B,seed=2", {{"metrics", {{"NDCG@10", "high"}, {"ARP@10", 50.0}}}});
  const std::string error = error_of([&] { sweep.report(); });
  EXPECT_NE(error.find("variant=B,seed=2/metrics.json: metrics.\"NDCG@10\" is \"high\", not a "
                       "number"),
            std::string::npos)
      << error;
}

TEST(SweepReport, AMissingOrNullMetricIsAWarningAndTheCellCountsItsSeeds) {
  for (const bool null : {false, true}) {
    const FakeSweep sweep;
    nlohmann::json metrics = {{"metrics", {{"ARP@10", 50.0}}}};
    if (null) metrics["metrics"]["NDCG@10"] = nullptr;
    // The first point in id order: the defaults must not drop the column because of it.
    sweep.write_point("variant=A,seed=1", metrics);
    const auto report = sweep.report();
    EXPECT_EQ(report.metrics.front(), "NDCG@10") << "the column stays";
    EXPECT_EQ(group(report, "A").metrics.at("NDCG@10").n, 1);
    ASSERT_FALSE(report.warnings.empty());
    EXPECT_NE(report.warnings[0].find("variant=A,seed=1/metrics.json: NDCG@10 is " +
                                      std::string(null ? "null" : "missing")),
              std::string::npos)
        << report.warnings[0];
  }
}

TEST(SweepReport, PerUserFilesThatDifferAreRefusedNotPairedSilently) {
  const std::string id = "variant=B,seed=1";
  const auto expect_error = [&](const std::string& text, const std::string& expected) {
    const FakeSweep sweep;
    sweep.write(id, run_file::kUserMetrics, text);
    const std::string error = error_of([&] { sweep.report(); });
    EXPECT_NE(error.find(expected), std::string::npos) << error;
  };
  std::string header = "user\tNDCG@10\tRecall@10\n", half = header;
  for (int u = 0; u < 20; ++u) half += fmt::format("u{}\t0.3\t0.5\n", u);
  expect_error(half, "has 40 test users and");
  expect_error(half + "u20\t0.3", ":22: 2 fields where the header has 3 (a line cut short?)");
  std::string renamed = header;
  for (int u = 0; u < 40; ++u) renamed += fmt::format("v{}\t0.3\t0.5\n", u);
  expect_error(renamed, "40 test users and");
  expect_error(header + "u0\tnan\t0.5\n", ":2: NDCG@10 'nan' is not a finite number");
  expect_error(header + "u0\t-inf\t0.5\n", ":2: NDCG@10 '-inf' is not a finite number");
  expect_error(header + "u0\t0.1\t0.5\nu0\t0.2\t0.5\n", ":3: user 'u0' is listed twice");
  expect_error(header + "u0\tabc\t0.5\n", ":2: NDCG@10 'abc' is not a number");
}

// A seed whose baseline seed has not finished is left out of the paired tests, visibly.
TEST(SweepReport, ASeedWithoutItsBaselineSeedIsAWarning) {
  const FakeSweep sweep;
  std::filesystem::remove(sweep.point("variant=A,seed=2") / run_file::kSummary);
  const auto report = sweep.report();
  ASSERT_EQ(report.significance.size(), 1u);
  EXPECT_EQ(report.significance[0].t.n, 40);
  ASSERT_EQ(report.warnings.size(), 1u);
  EXPECT_NE(report.warnings[0].find("seed 2: its baseline variant=A has no finished point"),
            std::string::npos)
      << report.warnings[0];
}

}  // namespace
}  // namespace polyphony::cli
