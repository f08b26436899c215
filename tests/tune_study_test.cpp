// Tune files and studies: the search space as written, the errors that name the file and line,
// a trial's values as settings, the objective values read from a run, the choice of trials for
// the final runs (the best; a Pareto front spread along it), and the refusal of a changed study.

#include <fstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include "engine/run/run_directory.h"
#include "tests/test_support.h"
#include "tools/options/train_options.h"
#include "tools/tune/tune_study.h"

namespace polyphony::cli {
namespace {

using testing::error_of;
using testing::TempDir;

std::filesystem::path write_tune(const TempDir& dir, const std::string& name,
                                 const std::string& tune_table, const std::string& rest) {
  const auto path = dir.path() / name;
  std::ofstream(path) << "[tune]\nbase = \"" << (testing::configs_folder() / "mf-bpr.toml").string()
                      << "\"\n"
                      << tune_table << rest;
  return path;
}

const char* kSpace = R"([space]
train.lr = { low = 1e-4, high = 0.1, log = true }
model.dim = { low = 16, high = 64, step = 16 }
model.resn = { choices = ["~", 0.5] }
)";

TEST(TuneFile, ReadsTheSpaceInTheFilesOrder) {
  TempDir dir;
  const auto file = write_tune(dir, "study.toml",
                               "trials = 20\nobjectives = [\"NDCG@10\", \"ARP@10\"]\n"
                               "pruner = \"none\"\nsampler = \"nsga2\"\nseeds = 2\n",
                               std::string("[set]\ntrain.epochs = 3\n") + kSpace);
  const TuneFile f = read_tune_file(file);
  EXPECT_EQ(f.name, "study");
  EXPECT_EQ(f.trials, 20);
  ASSERT_EQ(f.objectives.size(), 2u);
  // The directions, once the study is opened: the report's.
  const auto opened = open_tune_study(file, dir.path() / "out", {}, "").file.objectives;
  EXPECT_TRUE(opened[0].maximize);   // NDCG@10: utility
  EXPECT_FALSE(opened[1].maximize);  // ARP@10: popularity
  EXPECT_EQ(f.sampler, "nsga2");
  EXPECT_EQ(f.seeds, (std::vector<uint64_t>{1, 2}));
  ASSERT_EQ(f.space.size(), 3u);
  EXPECT_EQ(f.space[0].key, "train.lr");
  EXPECT_EQ(f.space[0].kind, SpaceKind::kFloat);
  EXPECT_TRUE(f.space[0].log);
  EXPECT_EQ(f.space[1].key, "model.dim");
  EXPECT_EQ(f.space[1].kind, SpaceKind::kInt);
  EXPECT_EQ(f.space[1].step, 16);
  EXPECT_EQ(f.space[2].kind, SpaceKind::kCategorical);
  EXPECT_EQ(f.space[2].choices, (std::vector<std::string>{"~", "0.5"}));
  const auto json = space_json(f.space);
  EXPECT_EQ(json[1]["kind"], "int");
  EXPECT_EQ(json[1]["step"], 16);
  EXPECT_EQ(json[0]["log"], true);
}

TEST(TuneFile, ErrorsNameTheFileLineAndKey) {
  TempDir dir;
  const std::string tune = "trials = 5\nobjectives = [\"NDCG@10\"]\n";
  const auto error_for = [&](const std::string& table, const std::string& rest) {
    return error_of([&] { read_tune_file(write_tune(dir, "bad.toml", table, rest)); });
  };
  EXPECT_NE(error_for(tune + "prunner = \"none\"\n", kSpace)
                .find("bad.toml:5: tune.prunner: unknown key — did you mean 'pruner'?"),
            std::string::npos);
  EXPECT_NE(error_for("trials = 5\nobjectives = [\"NDCG@10\", \"ARP@10\"]\n", kSpace)
                .find("prunes single-objective studies only"),
            std::string::npos);
  EXPECT_NE(error_for(tune, "[space]\ntrain.lr = { low = 0.1, high = 0.01 }\n")
                .find("bad.toml:6: space.train.lr: low must be below high"),
            std::string::npos);
  EXPECT_NE(error_for(tune, "[space]\ntrain.lr = { low = 0.0, high = 0.1, log = true }\n")
                .find("needs low > 0"),
            std::string::npos);
  // A value no option takes; a key no run knows, when the study opens.
  const auto opening_error = [&](const std::string& rest) {
    return error_of([&] {
      open_tune_study(write_tune(dir, "bad.toml", tune, rest), dir.path() / "out", {}, "");
    });
  };
  EXPECT_NE(opening_error("[space]\ntrain.epochs = { low = -3, high = 5 }\n")
                .find("bad.toml:6: space.train.epochs: --set 'train.epochs=-3': "),
            std::string::npos);
  EXPECT_NE(opening_error("[space]\nmodel.dimm = { low = 8, high = 64 }\n")
                .find("bad.toml:6: space.model.dimm (8): "),
            std::string::npos);
  // A value the model cannot be built with at one end of the range.
  EXPECT_NE(opening_error("[space]\nmodel.dim = { low = 0, high = 64 }\n")
                .find("bad.toml:6: space.model.dim (0): model option dim must be at least 1"),
            std::string::npos);
  EXPECT_NE(error_for(tune, "[set]\nmodel.dim = 8\n[space]\nmodel.dim = { low = 8, high = 64 }\n")
                .find("model.dim is searched in [space]"),
            std::string::npos);
  EXPECT_NE(error_for(tune, "").find("[space] has no dimension"), std::string::npos);
  EXPECT_NE(error_for("trials = 5\n", kSpace).find("no objectives"), std::string::npos);
  EXPECT_NE(
      error_for(tune + "sampler = \"cmaes\"\n", kSpace).find("expected one of tpe, nsga2, random"),
      std::string::npos);
  EXPECT_NE(error_for(tune, "[space]\nmodel.resn = { choices = [0.5] }\n").find("at least two"),
            std::string::npos);
  EXPECT_NE(error_for(tune, "[spaces]\n").find("unknown table 'spaces' — did you mean 'space'?"),
            std::string::npos);
}

TEST(TuneFile, TrialValuesBecomeSettings) {
  SpaceDimension dim{"model.dim", SpaceKind::kInt, 16, 64, false, 16, {}, ""};
  SpaceDimension lr{"train.lr", SpaceKind::kFloat, 1e-4, 0.1, true, 0, {}, ""};
  SpaceDimension resn{"model.resn", SpaceKind::kCategorical, 0, 0, false, 0, {"~", "0.5"}, ""};
  EXPECT_EQ(trial_setting(dim, 48), "model.dim=48");
  EXPECT_EQ(trial_setting(dim, 48.0), "model.dim=48");  // Optuna's JSON may carry 48.0
  EXPECT_EQ(trial_setting(lr, 0.0031), "train.lr=0.0031");
  EXPECT_EQ(trial_setting(lr, 1e-05), "train.lr=1e-05");
  EXPECT_EQ(trial_setting(resn, "~"), "~model.resn");
  EXPECT_EQ(trial_setting(resn, "0.5"), "model.resn=0.5");
  EXPECT_NE(error_of([&] { trial_setting(lr, "fast"); }).find("not a number"), std::string::npos);
}

TrialRecord complete(int64_t number, std::vector<double> objectives) {
  TrialRecord r;
  r.number = number;
  r.state = "complete";
  r.objectives = std::move(objectives);
  return r;
}

TEST(TuneStudy, ChoosesTheBestTrialOrASpreadOfTheFront) {
  const std::vector<TuneObjective> ndcg = {{"NDCG@10", true}};
  TrialRecord pruned = complete(4, {0.9});
  pruned.state = "pruned";  // a pruned trial is never chosen, whatever it recorded
  const std::vector<TrialRecord> single = {complete(0, {0.1}), complete(1, {0.3}),
                                           complete(2, {0.3}), pruned};
  const auto best = chosen_trials(single, ndcg, 0);
  ASSERT_EQ(best.size(), 1u);
  EXPECT_EQ(best[0].number, 1);                          // a tie: the lower number
  EXPECT_EQ(chosen_trials(single, ndcg, 2).size(), 2u);  // asked for two: both best
  // Two objectives: NDCG@10 up, ARP@10 down. Trials 0..4 on the front, 5 dominated by 2.
  const std::vector<TuneObjective> two = {{"NDCG@10", true}, {"ARP@10", false}};
  std::vector<TrialRecord> records;
  for (int64_t i = 0; i < 5; ++i)
    records.push_back(complete(i, {0.1 * static_cast<double>(i), 10.0 * static_cast<double>(i)}));
  records.push_back(complete(5, {0.15, 30}));
  const auto front = pareto_front_of(records, two);
  EXPECT_EQ(front, (std::vector<bool>{true, true, true, true, true, false}));
  const auto all = chosen_trials(records, two, 0);
  ASSERT_EQ(all.size(), 5u);
  EXPECT_EQ(all[0].number, 4);  // best first along the first objective
  const auto three = chosen_trials(records, two, 3);
  ASSERT_EQ(three.size(), 3u);
  EXPECT_EQ(three[0].number, 4);  // the two ends and the middle
  EXPECT_EQ(three[1].number, 2);
  EXPECT_EQ(three[2].number, 0);
  // Three objectives.
  const std::vector<TuneObjective> three_objectives = {{"a", true}, {"b", true}, {"c", false}};
  const std::vector<TrialRecord> cube = {complete(0, {1, 1, 1}), complete(1, {1, 1, 2}),
                                         complete(2, {0, 2, 5})};
  EXPECT_EQ(pareto_front_of(cube, three_objectives), (std::vector<bool>{true, false, true}));
}

TEST(TuneStudy, ObjectivesAreTheValidationValuesOfTheKeptEpoch) {
  TempDir dir;
  const auto run = dir.path() / "run";
  std::filesystem::create_directories(run);
  std::ofstream(run / run_file::kEpochLog) << R"({"epoch":1,"valid":{"NDCG@10":0.1,"ARP@10":30}})"
                                           << "\n"
                                           << R"({"epoch":2,"valid":{"NDCG@10":0.3,"ARP@10":20}})"
                                           << "\n"
                                           << R"({"epoch":3,"valid":{"NDCG@10":0.2,"ARP@10":10}})"
                                           << "\n";
  std::ofstream(run / run_file::kSummary) << R"({"best_epoch":2})";
  const std::vector<TuneObjective> two = {{"NDCG@10", true}, {"ARP@10", false}};
  EXPECT_EQ(run_objective_values(run, two), (std::vector<double>{0.3, 20}));
  std::ofstream(run / run_file::kSummary) << R"({"best_epoch":0})";  // none better: the last
  EXPECT_EQ(run_objective_values(run, two), (std::vector<double>{0.2, 10}));
  const std::string error = error_of([&] { run_objective_values(run, {{"HR@10", true}}); });
  EXPECT_NE(error.find("the objective HR@10 is not among the run's validation metrics (ARP@10, "
                       "NDCG@10)"),
            std::string::npos)
      << error;
  std::ofstream(run / run_file::kEpochLog) << R"({"epoch":1})"
                                           << "\n";
  EXPECT_NE(error_of([&] { run_objective_values(run, two); }).find("no validation metrics"),
            std::string::npos);
}

TEST(TuneStudy, ADirectoryKeepsItsStudy) {
  TempDir dir;
  const std::string tune = "trials = 5\nobjectives = [\"NDCG@10\"]\nfinal_seeds = [7]\n";
  const auto file =
      write_tune(dir, "study.toml", tune, std::string("[set]\ntrain.epochs = 3\n") + kSpace);
  const auto out = dir.path() / "out";
  const TuneStudy study = open_tune_study(file, out, {"model.dim=8"}, "");
  EXPECT_EQ(study.storage, (out / "study.journal").string());
  EXPECT_EQ(study.file.final_seeds, (std::vector<uint64_t>{7}));
  EXPECT_EQ(study.file.seeds.size(), 1u);  // the base config's seed
  EXPECT_TRUE(std::filesystem::exists(out / "tune.json"));
  // More trials and another storage are fine; other settings or another space are not.
  write_tune(dir, "study.toml", "trials = 9\nobjectives = [\"NDCG@10\"]\n",
             std::string("[set]\ntrain.epochs = 3\n") + kSpace);
  EXPECT_EQ(open_tune_study(file, out, {"model.dim=8"}, "").file.trials, 9);
  EXPECT_NE(error_of([&] { open_tune_study(file, out, {}, ""); }).find("(settings: "),
            std::string::npos);
  write_tune(
      dir, "study.toml", tune,
      std::string("[set]\ntrain.epochs = 3\n[space]\ntrain.lr = { low = 0.01, high = 0.1 }\n"));
  EXPECT_NE(error_of([&] { open_tune_study(file, out, {"model.dim=8"}, ""); }).find("(space: "),
            std::string::npos);
  // An edit of the base config's contents changes the study too.
  {
    const auto base = dir.path() / "base.toml";
    std::ofstream(base) << "[model]\nname = \"mf\"\n[train]\nepochs = 3\neval_every = 1\n";
    const auto edited = dir.path() / "edited.toml";
    std::ofstream(edited) << "[tune]\nbase = \"" << base.string()
                          << "\"\ntrials = 5\nobjectives = [\"NDCG@10\"]\n"
                          << kSpace;
    open_tune_study(edited, dir.path() / "edited", {}, "");
    std::ofstream(base) << "[model]\nname = \"mf\"\n[train]\nepochs = 4\neval_every = 1\n";
    EXPECT_NE(error_of([&] {
                open_tune_study(edited, dir.path() / "edited", {}, "");
              }).find("(base_arguments: "),
              std::string::npos);
  }
  // A trial's arguments: the base config expanded, the settings, the trial's values, the seed.
  ConfigurationExpander expander;
  const auto arguments = study.trial_arguments(
      expander, {{"train.lr", "0.01"}, {"model.dim", "32"}, {"model.resn", "~"}}, 5, 3);
  const std::string joined = fmt::format("{}", fmt::join(arguments, " "));
  EXPECT_NE(joined.find("--lr 0.01"), std::string::npos) << joined;
  EXPECT_NE(joined.find("--seed 5"), std::string::npos) << joined;
  EXPECT_EQ(joined.find("--resn"), std::string::npos) << joined;
  // The final runs as a sweep: a point per chosen trial and final seed.
  TrialRecord chosen = complete(3, {0.2});
  chosen.values = {{"train.lr", "0.01"}, {"model.dim", "32"}, {"model.resn", "0.5"}};
  const SweepPlan plan = final_plan(study, {chosen});
  ASSERT_EQ(plan.points.size(), 1u);
  EXPECT_EQ(plan.points[0].id, "trial=3,seed=7");
  EXPECT_EQ(plan.points[0].group, "trial=3");
  EXPECT_EQ(plan.points[0].values.size(), 3u);
  EXPECT_TRUE(plan.baseline.empty());
  // With a final baseline: its config over the same seeds, under the study's settings, as the
  // report's baseline.
  write_tune(dir, "study.toml",
             tune + "final_baseline = \"" + (testing::configs_folder() / "lightgcn.toml").string() +
                 "\"\n",
             std::string("[set]\ntrain.epochs = 3\n") + kSpace);
  const SweepPlan with_baseline =
      final_plan(open_tune_study(file, out, {"model.dim=8"}, ""), {chosen});
  ASSERT_EQ(with_baseline.points.size(), 2u);
  EXPECT_EQ(with_baseline.baseline, "baseline");
  EXPECT_EQ(with_baseline.points[1].id, "baseline,seed=7");
  const std::string baseline_arguments =
      fmt::format("{}", fmt::join(with_baseline.points[1].arguments, " "));
  EXPECT_NE(baseline_arguments.find("--model lightgcn"), std::string::npos) << baseline_arguments;
  EXPECT_NE(baseline_arguments.find("--epochs 3"), std::string::npos) << baseline_arguments;
}

// Every shipped tune file opens: its space's values are read as `polyphony train` reads them.
TEST(TuneStudy, EveryShippedTuneFileOpens) {
  TempDir dir;
  int files = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator(testing::configs_folder() / "tunes")) {
    const TuneStudy study = open_tune_study(entry.path(), dir.path() / entry.path().stem(), {}, "");
    EXPECT_GE(study.file.trials, 1) << entry.path();
    ++files;
  }
  EXPECT_GE(files, 1);
}

}  // namespace
}  // namespace polyphony::cli
