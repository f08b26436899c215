// Sweep files: how variants, axes and seeds expand into points with readable ids and explicit
// train arguments, the errors that name the file and line, the refusal of a change to a started
// point, and the Slurm array script.

#include <algorithm>
#include <fstream>
#include <functional>

#include <gtest/gtest.h>

#include "tests/test_support.h"
#include "tools/sweep/slurm_script.h"
#include "tools/sweep/sweep_plan.h"
#include "tools/sweep/sweep_runner.h"

namespace polyphony::cli {
namespace {

using testing::error_of;
using testing::TempDir;

const std::filesystem::path kConfigs = testing::configs_folder();

std::filesystem::path write(const TempDir& dir, const std::string& name, const std::string& text) {
  const auto path = dir.path() / name;
  std::ofstream(path) << text;
  return path;
}

std::string sweep_text(const std::string& rest) {
  return "[sweep]\nbase = \"" + (kConfigs / "mf-bpr.toml").string() + "\"\n" + rest;
}

// The value that follows `option` last in `arguments` ("" when absent).
std::string last_value(const std::vector<std::string>& arguments, const std::string& option) {
  std::string value;
  for (size_t i = 0; i + 1 < arguments.size(); ++i)
    if (arguments[i] == option) value = arguments[i + 1];
  return value;
}

TEST(SweepPlan, VariantsAxesAndSeedsCross) {
  TempDir dir;
  const auto file = write(dir, "study.toml", sweep_text(R"(seeds = [1, 2]
baseline = "MF"
[set]
train.epochs = 3
[axes]
model.dim = [8, 16]
[variants.MF]
model.name = "mf"
[variants."MF+ReSN"]
model.name = "mf"
axes.model.resn = [0.01, 0.1]
)"));
  const auto plan = read_sweep_plan(file, {"eval.eval_memory_mb=64"});
  EXPECT_EQ(plan.name, "study");
  EXPECT_EQ(plan.baseline, "MF");
  EXPECT_EQ(plan.variants, (std::vector<std::string>{"MF", "MF+ReSN"}));
  EXPECT_EQ(plan.axes, (std::vector<std::string>{"model.dim", "model.resn"}));
  ASSERT_EQ(plan.points.size(), 2u * 2 + 2u * 2 * 2);
  EXPECT_EQ(plan.points[0].id, "variant=MF,dim=8,seed=1");
  EXPECT_EQ(plan.points[1].id, "variant=MF,dim=8,seed=2");
  EXPECT_EQ(plan.points[2].id, "variant=MF,dim=16,seed=1");
  EXPECT_EQ(plan.points[4].id, "variant=MF+ReSN,dim=8,resn=0.01,seed=1");
  EXPECT_EQ(plan.points[11].id, "variant=MF+ReSN,dim=16,resn=0.1,seed=2");
  EXPECT_EQ(plan.points[11].group, "variant=MF+ReSN,dim=16,resn=0.1");
  EXPECT_EQ(plan.points[11].variant, "MF+ReSN");
  EXPECT_EQ(plan.points[11].seed, 2u);
  const auto& args = plan.points[11].arguments;
  // The base config is expanded (no --config), the settings follow it, the command line's last.
  EXPECT_EQ(std::count(args.begin(), args.end(), "--config"), 0);
  EXPECT_EQ(last_value(args, "--epochs"), "3");
  EXPECT_EQ(last_value(args, "--dim"), "16");
  EXPECT_EQ(last_value(args, "--resn"), "0.1");
  EXPECT_EQ(last_value(args, "--seed"), "2");
  EXPECT_EQ(last_value(args, "--eval-memory-mb"), "64");
  EXPECT_EQ(last_value(args, "--loss"), "bpr");  // from the base config
}

TEST(SweepPlan, TheShippedStudiesPlanWithABaseline) {
  int studies = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kConfigs / "sweeps")) {
    if (entry.path().extension() != ".toml") continue;
    ++studies;
    const auto plan = read_sweep_plan(entry.path());
    EXPECT_GE(plan.points.size(), 4u) << entry.path();
    EXPECT_FALSE(plan.baseline.empty()) << entry.path();
    // Per-user metrics (for the paired tests) under either protocol.
    for (const auto& point : plan.points) {
      const auto& a = point.arguments;
      EXPECT_NE(std::find(a.begin(), a.end(), "--user-metrics"), a.end()) << point.id;
    }
  }
  EXPECT_EQ(studies, 6);
}

TEST(SweepPlan, SeedCountListValuesAndConfiguredSeed) {
  TempDir dir;
  const auto counted = read_sweep_plan(write(dir, "a.toml", sweep_text(R"(seeds = 3
[axes]
data.kcore = [[1, 1], [2, 2]]
)")));
  ASSERT_EQ(counted.points.size(), 6u);
  EXPECT_EQ(counted.points[0].id, "kcore=1_1,seed=1");
  EXPECT_EQ(last_value(counted.points[0].arguments, "--kcore"), "1,1");
  EXPECT_EQ(counted.points[5].id, "kcore=2_2,seed=3");
  // No seeds: the one the base config and settings give.
  const auto single = read_sweep_plan(write(dir, "b.toml", sweep_text("[set]\ntrain.seed = 7\n")));
  ASSERT_EQ(single.points.size(), 1u);
  EXPECT_EQ(single.points[0].id, "seed=7");
}

TEST(SweepPlan, AxesWithTheSameKeyNameAreTellApartInIds) {
  EXPECT_EQ(id_text("16,16"), "16_16");
  EXPECT_EQ(id_text("a b/c"), "a_b_c");
  EXPECT_EQ(id_text(""), "_");
}

TEST(SweepPlan, ErrorsNameTheFileLineAndKey) {
  TempDir dir;
  const auto check = [&](const std::string& text, const std::string& expected) {
    const auto file = write(dir, "bad.toml", text);
    const std::string error = error_of([&] { read_sweep_plan(file); });
    EXPECT_NE(error.find(expected), std::string::npos) << error << "\nexpected: " << expected;
  };
  check(sweep_text("[axis]\nmodel.dim = [8]\n"), "unknown table 'axis' — did you mean 'axes'?");
  check(sweep_text("seed = 3\n"), "bad.toml:3: sweep.seed: unknown key — did you mean 'seeds'?");
  check(sweep_text("[axes]\nmodel.dim = 8\n"),
        "bad.toml:4: axes.model.dim: an axis is a non-empty");
  check(sweep_text("[axes]\nmodel.dim = []\n"), "an axis is a non-empty array");
  check(sweep_text("[axes]\nmodel.dim = [8, 8]\n"), "the value '8' is listed twice");
  check(sweep_text("[set]\ntrain.epoch = 3\n"), "bad.toml:4: set.train.epoch: ");
  check(sweep_text("[set]\nepochs = 3\n"), "expected SECTION.KEY");
  check(sweep_text("[axes]\ntrain.epochs = [1, \"many\"]\n"), "bad.toml:4: axes.train.epochs");
  check(sweep_text("baseline = \"MF\"\n"), "sweep.baseline 'MF' is not a variant (variants: none)");
  check(sweep_text("seeds = [1, 1]\n"), "seed 1 is listed twice");
  check(sweep_text("seeds = 0\n"), "a count of seeds from 1 to 1000");
  check("[sweep]\nbase = \"missing.toml\"\n", "no such config file");
  check("[set]\ntrain.epochs = 3\n", "no [sweep] table");
  check(sweep_text("[variants.\"A b\"]\nmodel.name = \"mf\"\n[variants.\"A,b\"]\n"),
        "has the same folder name as another (A_b)");
  // A model option the model does not have: found before anything runs, with the point named.
  check(sweep_text("seeds = [5]\n[set]\nmodel.no_such_option = 3\n"),
        "bad.toml: point seed=5: model 'mf': unknown option 'no_such_option'");
  // So is a value the model cannot be built with, before any point runs.
  check(sweep_text("seeds = [5]\n[axes]\nmodel.dim = [16, -8]\n"),
        "bad.toml: point dim=-8,seed=5: model option dim must be at least 1 (got -8)");
  EXPECT_NE(error_of([&] { read_sweep_plan(dir.path() / "none.toml"); }).find("no such file"),
            std::string::npos);
}

TEST(SweepDirectory, AChangedSweepFileIsRefusedForAStartedPoint) {
  TempDir dir;
  const auto file = write(dir, "s.toml", sweep_text("seeds = [1]\n[set]\ntrain.epochs = 2\n"));
  const auto plan = read_sweep_plan(file);
  const SweepDirectory sweep(dir.path() / "out");
  EXPECT_EQ(sweep.status(plan.points[0]).state, PointState::kNew);
  sweep.check_unchanged(plan);  // nothing started: nothing to refuse
  // A point started with these arguments (as train writes command.json), then the file changes.
  std::filesystem::create_directories(sweep.run(plan.points[0]));
  auto recorded = plan.points[0].arguments;
  recorded.insert(recorded.end(), {"--out", "elsewhere", "--threads", "2"});
  std::ofstream(sweep.run(plan.points[0]) / "command.json")
      << nlohmann::json{{"arguments", recorded}, {"resumes", nlohmann::json::array()}}.dump();
  sweep.check_unchanged(plan);  // placement options do not count
  const auto changed =
      read_sweep_plan(write(dir, "s.toml", sweep_text("seeds = [1]\n[set]\ntrain.epochs = 3\n")));
  const std::string error = error_of([&] { sweep.check_unchanged(changed); });
  EXPECT_NE(error.find("changes sweep point seed=1"), std::string::npos) << error;
  EXPECT_NE(error.find("--epochs ran with '2', the sweep now says '3'"), std::string::npos)
      << error;
  // A damaged command file is named, not taken for a change.
  std::ofstream(sweep.run(plan.points[0]) / "command.json") << "{\"argu";
  EXPECT_NE(error_of([&] { sweep.check_unchanged(plan); }).find("command.json is corrupt"),
            std::string::npos);
}

// A sweep beyond kMaxSweepPoints is refused before a point is expanded, naming the axes; one at
// the limit plans in well under a second of work per thousand points (no timing asserted here:
// docs/benchmarks.md has the figure).
TEST(SweepPlan, TooManyPointsAreRefusedNamingTheAxes) {
  TempDir dir;
  std::string values;
  for (int i = 1; i <= 1000; ++i) values += (i > 1 ? ", " : "") + std::to_string(i);
  const auto huge = write(
      dir, "huge.toml",
      sweep_text("[axes]\nmodel.dim = [" + values + "]\ntrain.batch_size = [" + values + "]\n"));
  const std::string error = error_of([&] { read_sweep_plan(huge); });
  EXPECT_NE(error.find("huge.toml: 1000000 points (model.dim (1000 values) × train.batch_size "
                       "(1000 values) × 1 seed) are more than a sweep plans (10000)"),
            std::string::npos)
      << error;
  const auto variants = write(dir, "variants.toml",
                              sweep_text("seeds = 11\n[axes]\nmodel.dim = [" + values +
                                         "]\n[variants.A]\nmodel.name = \"mf\"\n"));
  EXPECT_NE(error_of([&] { read_sweep_plan(variants); }).find("11000 points"), std::string::npos);
  const auto at_limit =
      write(dir, "limit.toml", sweep_text("seeds = 10\n[axes]\nmodel.dim = [" + values + "]\n"));
  EXPECT_EQ(read_sweep_plan(at_limit).points.size(), kMaxSweepPoints);
}

// "~SECTION.KEY" = true in [set] or a variant, and the axis value "~", remove a setting of the
// base config (here the rating threshold that lightgcn-format data cannot have).
TEST(SweepPlan, SettingsCanBeRemovedForEveryPointOrOnAnAxis) {
  TempDir dir;
  const auto base = write(dir, "base.toml", "[data]\nmin_rating = 4\n[model]\ndim = 8\n");
  const auto file = write(dir, "s.toml",
                          "[sweep]\nbase = \"base.toml\"\nseeds = [1]\n"
                          "[set]\n\"~data.min_rating\" = true\n"
                          "[axes]\nmodel.dim = [\"~\", 16]\n");
  const auto plan = read_sweep_plan(file);
  ASSERT_EQ(plan.points.size(), 2u);
  EXPECT_EQ(plan.points[0].id, "dim=unset,seed=1");
  EXPECT_EQ(plan.points[1].id, "dim=16,seed=1");
  for (const auto& point : plan.points)
    EXPECT_EQ(last_value(point.arguments, "--min-rating"), "") << point.id;
  EXPECT_EQ(last_value(plan.points[0].arguments, "--dim"), "");
  EXPECT_EQ(last_value(plan.points[1].arguments, "--dim"), "16");
  const auto bad = write(dir, "bad.toml",
                         "[sweep]\nbase = \"base.toml\"\n"
                         "[set]\n\"~data.min_ratin\" = true\n");
  EXPECT_NE(error_of([&] { read_sweep_plan(bad); }).find("did you mean 'min_rating'"),
            std::string::npos);
  const auto not_true = write(dir, "not_true.toml",
                              "[sweep]\nbase = \"base.toml\"\n"
                              "[set]\n\"~data.min_rating\" = 3\n");
  EXPECT_NE(error_of([&] { read_sweep_plan(not_true); }).find("\"~SECTION.KEY\" = true"),
            std::string::npos);
}

TEST(SlurmScript, OneArrayTaskPerPointRunningThisSweep) {
  TempDir dir;
  const auto plan = read_sweep_plan(write(dir, "it's.toml", sweep_text("seeds = 3\n")));
  SlurmOptions options;
  options.gres = "gpu:1";
  options.partition = "gpu";
  options.max_parallel = 2;
  options.extra = {"--qos=long"};
  const std::string script =
      slurm_array_script(plan, "/sweeps/x", "/opt/polyphony", {"data.kcore=5,5"}, options);
  for (const char* line :
       {"#!/bin/bash\n", "#SBATCH --array=0-2%2\n", "#SBATCH --gres=gpu:1\n",
        "#SBATCH --partition=gpu\n", "#SBATCH --qos=long\n", "#SBATCH --cpus-per-task=4\n",
        "#SBATCH --output=/sweeps/x/logs/slurm-%A_%a.out\n", "#SBATCH --time=04:00:00\n"})
    EXPECT_NE(script.find(line), std::string::npos) << line << " missing in\n" << script;
  // The file name's quote survives the shell; the task index comes from Slurm.
  EXPECT_NE(script.find("exec '/opt/polyphony' sweep '" + dir.path().string() +
                        "/it'\\''s.toml' --out '/sweeps/x' --threads \"${SLURM_CPUS_PER_TASK:-4}\" "
                        "--set 'data.kcore=5,5' --task \"${SLURM_ARRAY_TASK_ID:?"),
            std::string::npos)
      << script;
  EXPECT_EQ(shell_quoted("a'b"), "'a'\\''b'");
  // Tasks of a sweep emitted with --tensorboard write TensorBoard files.
  options.tensorboard = true;
  EXPECT_NE(slurm_array_script(plan, "/sweeps/x", "/opt/polyphony", {}, options)
                .find("--tensorboard --task \"${SLURM_ARRAY_TASK_ID:?"),
            std::string::npos);
}

// No value can start a line of its own in the script, or reach sbatch in another syntax than
// the option's: each option, the extra #SBATCH lines, the settings and the paths.
TEST(SlurmScript, RefusesValuesThatCouldInjectALineOrBreakSbatchSyntax) {
  TempDir dir;
  const auto plan = read_sweep_plan(write(dir, "s.toml", sweep_text("seeds = 2\n")));
  const auto refused = [&](const std::function<void(SlurmOptions&)>& change,
                           const std::string& expected, std::vector<std::string> settings = {},
                           const std::string& sweep_dir = "/sweeps/x") {
    SlurmOptions options;
    change(options);
    const std::string error =
        error_of([&] { slurm_array_script(plan, sweep_dir, "/opt/polyphony", settings, options); });
    EXPECT_NE(error.find(expected), std::string::npos) << "got: " << error;
    EXPECT_EQ(error.find('\n'), std::string::npos) << "a one-line error: " << error;
  };
  const std::string injected = "gpu\ntouch PWNED";
  refused([&](SlurmOptions& o) { o.partition = injected; },
          "--slurm-partition 'gpu\\ntouch PWNED': a control character");
  refused([&](SlurmOptions& o) { o.partition = "gpu part"; }, "--slurm-partition 'gpu part'");
  refused([&](SlurmOptions& o) { o.time = "4:00:00\nid"; }, "--slurm-time");
  refused([&](SlurmOptions& o) { o.time = "four hours"; }, "--slurm-time 'four hours': expected");
  refused([&](SlurmOptions& o) { o.gres = "gpu:1\rid"; }, "--slurm-gres");
  refused([&](SlurmOptions& o) { o.gres = "gpu:1;id"; }, "--slurm-gres 'gpu:1;id'");
  refused([&](SlurmOptions& o) { o.account = "lab\nid"; }, "--slurm-account");
  refused([&](SlurmOptions& o) { o.memory = "32G;id"; }, "--slurm-mem '32G;id'");
  refused([&](SlurmOptions& o) { o.memory = "lots"; }, "--slurm-mem 'lots'");
  refused([&](SlurmOptions& o) { o.extra = {"--qos=long\ntouch PWNED"}; }, "--slurm-option");
  refused([&](SlurmOptions& o) { o.extra = {"--partition=gpu part"}; }, "--slurm-option");
  refused([&](SlurmOptions& o) { o.extra = {"--mem=32G;id"}; }, "--slurm-option '--mem=32G;id'");
  refused([&](SlurmOptions& o) { o.extra = {"--mem=lots"}; }, "--slurm-option --mem=lots 'lots'");
  refused([&](SlurmOptions& o) { o.extra = {"qos=long"}; }, "--slurm-option 'qos=long'");
  refused([&](SlurmOptions& o) { o.extra = {"--array=0-9"}; }, "the script sets the array");
  refused([&](SlurmOptions& o) { o.mlflow_uri = "http://x\nid"; }, "--mlflow");
  refused([](SlurmOptions&) {}, "--set", {"train.epochs=3\ntouch PWNED"});
  refused([](SlurmOptions&) {}, "the sweep directory (--out) '/sweeps/my x'", {}, "/sweeps/my x");
  refused([](SlurmOptions&) {}, "the sweep directory", {}, "/sweeps/x\ntouch PWNED");
  // A sweep file whose name holds a newline (it lands in the script's header comment).
  const auto newline_plan = read_sweep_plan(write(dir, "a\nb.toml", sweep_text("seeds = 1\n")));
  const std::string error = error_of(
      [&] { slurm_array_script(newline_plan, "/sweeps/x", "/opt/polyphony", {}, SlurmOptions{}); });
  EXPECT_NE(error.find("the sweep file '"), std::string::npos) << error;
  EXPECT_NE(error.find("a\\nb.toml': a control character"), std::string::npos) << error;
  // Well-formed values of every option pass.
  SlurmOptions good;
  good.partition = "gpu,gpu-long";
  good.time = "1-12:30:00";
  good.gres = "gpu:a100:2";
  good.account = "lab.music";
  good.memory = "32G";
  good.extra = {"--qos=long", "--constraint=a100&ib", "--exclusive", "--mem=64000"};
  const std::string script = slurm_array_script(plan, "/sweeps/x", "/opt/polyphony", {}, good);
  for (const char* line : {"#SBATCH --time=1-12:30:00\n", "#SBATCH --constraint=a100&ib\n",
                           "#SBATCH --exclusive\n", "#SBATCH --partition=gpu,gpu-long\n"})
    EXPECT_NE(script.find(line), std::string::npos) << line;
}

}  // namespace
}  // namespace polyphony::cli
