// `polyphony bench`: the collected Google Benchmark runs, the pairing of devices, what the
// training and evaluation benchmarks count, and the command's JSON and chart.

#include <benchmark/benchmark.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdlib>
#include <fstream>

#include <nlohmann/json.hpp>

#include "benchmarks/benchmarks.h"
#include "benchmarks/launch_counter.h"
#include "benchmarks/step_operators.h"
#include "device_cases.h"
#include "engine/data/data_options.h"
#include "engine/data/prepared_data.h"
#include "engine/eval/evaluator_options.h"
#include "models/registry.h"
#include "tests/test_support.h"
#include "tools/commands/benchmark_runs.h"
#include "tools/commands/commands.h"
#include "tools/options/error_message.h"

namespace polyphony {
namespace {

using cli::BenchmarkRun;

TEST(BenchmarkRuns, NamesSplitIntoWhatAndDevice) {
  std::string what, device;
  cli::split_benchmark_name("train_mf/cuda/music-demo/B:4096/n:1", what, device);
  EXPECT_EQ(what, "train_mf/music-demo/B:4096/n:1");
  EXPECT_EQ(device, "cuda");
  cli::split_benchmark_name("evaluate_mf/cpu", what, device);
  EXPECT_EQ(what, "evaluate_mf");
  EXPECT_EQ(device, "cpu");
  cli::split_benchmark_name("synthetic_generate", what, device);
  EXPECT_EQ(what, "synthetic_generate");
  EXPECT_EQ(device, "");
}

BenchmarkRun run(const std::string& name, double items_per_second, double seconds,
                 const std::string& error = "") {
  BenchmarkRun r;
  r.name = name;
  cli::split_benchmark_name(name, r.what, r.device);
  r.iterations = 3;
  r.items_per_second = items_per_second;
  r.seconds_per_iteration = seconds;
  r.error = error;
  return r;
}

TEST(BenchmarkRuns, TheSameBenchmarkOnTwoDevicesIsOneRowWithItsSpeedup) {
  const auto rows = cli::compare_devices({run("a/cpu/x", 100, 1), run("b/cpu/x", 0, 0.5),
                                          run("a/cuda/x", 2500, 1), run("b/cuda/x", 0, 0.1),
                                          run("c/cpu/x", 10, 1), run("c/cuda/x", 0, 0, "OOM"),
                                          run("d/cpu/x", 10, 1)});
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0].what, "a/x");
  EXPECT_DOUBLE_EQ(rows[0].speedup("cuda", "cpu"), 25.0);
  // Without items, the rate is calls per second: 10/s against 2/s.
  EXPECT_EQ(rows[1].what, "b/x");
  EXPECT_DOUBLE_EQ(rows[1].speedup("cuda", "cpu"), 5.0);
  // A failed run or a missing device gives no speed-up.
  EXPECT_EQ(rows[2].by_device.at("cuda").rate(), 0.0);
  EXPECT_EQ(rows[2].speedup("cuda", "cpu"), 0.0);
  EXPECT_EQ(rows[3].by_device.size(), 1u);
  EXPECT_EQ(rows[3].speedup("cuda", "cpu"), 0.0);
}

void count_five_per_iteration(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(torch::randn({64}).sum().item<float>());
  state.SetItemsProcessed(5 * state.iterations());
}

void refuse(benchmark::State& state) { state.SkipWithError("no such device"); }

TEST(BenchmarkRuns, RatesAndFailuresComeFromGoogleBenchmark) {
  register_benchmark("counted/cpu/64", "fives/s", count_five_per_iteration)->MinTime(0.01);
  benchmark::RegisterBenchmark("refused/cuda/64", refuse)->MinTime(0.01);
  std::vector<std::string> seen;
  const auto runs =
      cli::run_registered_benchmarks([&](const BenchmarkRun& r) { seen.push_back(r.name); });
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(seen, (std::vector<std::string>{"counted/cpu/64", "refused/cuda/64"}));
  EXPECT_EQ(runs[0].error, "");
  EXPECT_GT(runs[0].iterations, 0);
  EXPECT_NEAR(runs[0].rate() * runs[0].seconds_per_iteration, 5.0, 1e-6);
  EXPECT_EQ(runs[0].unit, "fives/s");  // as declared when registered
  EXPECT_EQ(runs[1].unit, "calls/s");  // none declared
  EXPECT_EQ(runs[1].device, "cuda");
  EXPECT_EQ(runs[1].error, "no such device");
  EXPECT_EQ(runs[1].rate(), 0.0);
  // The registry is cleared: the next run has only what is registered after it.
  benchmark::RegisterBenchmark("again/cpu/64", count_five_per_iteration)->MinTime(0.01);
  const auto again = cli::run_registered_benchmarks();
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].name, "again/cpu/64");
}

PreparedData small_data() {
  DataSetup setup;
  setup.load.source = parse_dataset("synthetic:music-small");
  return prepare_data(setup);
}

TEST(BenchmarkRuns, TrainingCountsTrainingInteractionsAndEvaluationCountsTestUsers) {
  auto data = std::make_shared<const PreparedData>(small_data());
  TrainerOptions training;
  training.batch_size = 1024;
  register_training_benchmark(data, "small", {"mf"}, training, torch::kCPU)->MinTime(0.01);
  register_model_evaluation_benchmark(data, "small", {"mf"}, EvaluatorOptions{}, torch::kCPU)
      ->MinTime(0.01);
  const auto runs = cli::run_registered_benchmarks();
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].name, "train_mf/cpu/small/B:1024/n:1");
  EXPECT_EQ(runs[0].error, "");
  EXPECT_NEAR(runs[0].rate() * runs[0].seconds_per_iteration,
              static_cast<double>(data->split.train.size()), 1e-6 * data->split.train.size());
  // An epoch is ⌈interactions / batch⌉ steps, and each step dispatches operators.
  const double steps = std::ceil(static_cast<double>(data->split.train.size()) / 1024);
  EXPECT_NEAR(runs[0].counters.at("steps_per_second") * runs[0].seconds_per_iteration, steps,
              1e-6 * steps);
  EXPECT_GT(runs[0].counters.at("operators_per_step"), 10);
  // --operators lists them by name, and the names add up to the count.
  double listed = 0;
  for (const auto& entry : operator_profile(runs[0].name)) listed += entry.second;
  EXPECT_NEAR(listed, runs[0].counters.at("operators_per_step"), 1e-6);
  EXPECT_EQ(runs[0].counters.count("kernels_per_step"), 0u);  // CUDA only
  EXPECT_EQ(runs[1].name, "evaluate_mf/cpu/small");
  const double test_users =
      static_cast<double>(std::get<0>(at::_unique(data->split.test.users)).numel());
  EXPECT_NEAR(runs[1].rate() * runs[1].seconds_per_iteration, test_users, 1e-6 * test_users);
}

class LaunchCounter : public ::testing::TestWithParam<std::string> {};

// Two elementwise operators: two operator calls on any device, and on CUDA two kernels and the
// final wait for the device.
TEST_P(LaunchCounter, CountsTheOperatorsAndKernelsOfTheWork) {
  const c10::Device device(GetParam());
  POLYPHONY_SKIP_WITHOUT(device);
  const auto a = torch::rand({1000}, device), b = torch::rand({1000}, device);
  torch::Tensor c;
  const LaunchCounts counts = count_launches([&] { c = a.add(b).mul(b); }, device);
  EXPECT_EQ(counts.operators, 2);
  EXPECT_TRUE(torch::allclose(c, (a + b) * b));
  if (device.is_cuda()) {
    EXPECT_EQ(counts.kernels, 2);
    EXPECT_GE(counts.synchronizations, 1);
  } else {
    EXPECT_EQ(counts.kernels, 0);
    EXPECT_EQ(counts.synchronizations, 0);
  }
}

INSTANTIATE_TEST_SUITE_P(Devices, LaunchCounter, ::testing::ValuesIn(testing::test_devices()),
                         [](const auto& info) { return info.param; });

int run_bench(std::vector<std::string> arguments) {
  arguments.insert(arguments.begin(), "bench");
  std::vector<char*> argv;
  for (auto& a : arguments) argv.push_back(a.data());
  return cli::bench(static_cast<int>(argv.size()), argv.data());
}

TEST(BenchCommand, WritesEveryRunToJsonAndDrawsTheChart) {
  const testing::TempDir dir;
  const auto json = dir.path() / "bench.json", png = dir.path() / "bench.png";
  std::vector<std::string> arguments = {"--dataset",    "synthetic:music-small",
                                        "--models",     "mf,pop",
                                        "--device",     "cpu",
                                        "--min-time",   "0.01",
                                        "--no-kernels", "--json",
                                        json.string()};
  const bool gnuplot = std::system("command -v gnuplot > /dev/null 2>&1") == 0;
  arguments.insert(arguments.end(), {"--plot", png.string()});
  if (!gnuplot) {
    EXPECT_CONTAINS(testing::error_of([&] { run_bench(arguments); }), "leave out --plot");
    return;
  }
  ASSERT_EQ(run_bench(arguments), 0);
  const auto result = nlohmann::json::parse(std::ifstream(json));
  EXPECT_EQ(result.at("dataset"), "synthetic:music-small");
  EXPECT_EQ(result.at("training").at("batch_size"), 4096);
  // pop is fitted in closed form: evaluated, not trained.
  std::vector<std::string> names;
  for (const auto& r : result.at("runs")) {
    names.push_back(r.at("name"));
    EXPECT_GT(r.at("rate").get<double>(), 0) << r.dump();
    EXPECT_EQ(r.at("device"), "cpu");
  }
  EXPECT_EQ(names, (std::vector<std::string>{"train_mf/cpu/music-small/B:4096/n:1",
                                             "evaluate_mf/cpu/music-small",
                                             "evaluate_pop/cpu/music-small"}));
  EXPECT_EQ(result.at("runs")[0].at("unit"), "interactions/s");
  // The training run's step counters reach the JSON.
  EXPECT_GT(result.at("runs")[0].at("counters").at("steps_per_second").get<double>(), 0);
  EXPECT_GT(result.at("runs")[0].at("counters").at("operators_per_step").get<double>(), 0);
  EXPECT_EQ(result.at("runs")[1].at("unit"), "users/s");
  EXPECT_GT(std::filesystem::file_size(png), 1000u);
}

// --config and --set describe one model as `polyphony train` reads it: its options (a value with
// commas included), the training settings and the data all reach the benchmarks.
TEST(BenchCommand, AConfiguredModelRunsWithItsOptionsAndTrainingSettings) {
  const testing::TempDir dir;
  const auto config = dir.path() / "run.toml", json = dir.path() / "bench.json";
  std::ofstream(config)
      << "[data]\ndataset = \"synthetic:music-small\"\n"
         "[model]\nname = \"uiprotomf\"\ndim = 8\n"
         "[train]\nloss = \"softmax\"\nnegatives = 3\nsampler = \"popularity:0.5\"\n";
  ASSERT_EQ(run_bench({"--config", config.string(), "--set", "model.k_filter=4,5", "--set",
                       "train.batch_size=1024", "--set", "model.item_prototypes=12", "--device",
                       "cpu", "--min-time", "0.01", "--no-kernels", "--json", json.string()}),
            0);
  const auto result = nlohmann::json::parse(std::ifstream(json));
  EXPECT_EQ(result.at("dataset"), "synthetic:music-small");
  EXPECT_EQ(result.at("models"),
            nlohmann::json::parse(
                R"({"uiprotomf": {"dim": 8, "k_user": 4, "k_item": 5, "item_prototypes": 12}})"));
  EXPECT_EQ(result.at("training").at("loss"), "softmax");
  EXPECT_EQ(result.at("training").at("sampler"), "popularity:0.5");
  ASSERT_EQ(result.at("runs").size(), 2u);
  EXPECT_EQ(result.at("runs")[0].at("name"), "train_uiprotomf/cpu/music-small/B:1024/n:3");
  for (const auto& r : result.at("runs")) EXPECT_GT(r.at("rate").get<double>(), 0) << r.dump();

  // The options a configuration replaces are refused, not silently overridden.
  EXPECT_CONTAINS(testing::error_of([&] {
                    run_bench({"--config", config.string(), "--batch-size", "64"});
                  }),
                  "--batch-size cannot be combined with --config or --set");
  EXPECT_CONTAINS(testing::error_of([&] {
                    run_bench({"--set", "model.name=nope"});
                  }),
                  "unknown model 'nope'");
  // A model option is checked before any data is read or any benchmark runs.
  EXPECT_CONTAINS(testing::error_of([&] {
                    run_bench({"--set", "model.dimension=4"});
                  }),
                  "model 'mf': unknown option 'dimension'");
}

TEST(BenchCommand, BadOptionsNameTheOptionBeforeAnythingRuns) {
  EXPECT_CONTAINS(testing::error_of([] {
                    run_bench({"--models", "mf,nope"});
                  }),
                  "--models: unknown model 'nope'");
  EXPECT_CONTAINS(testing::error_of([] {
                    run_bench({"--min-time", "0"});
                  }),
                  "--min-time must be positive");
  EXPECT_CONTAINS(testing::error_of([] { run_bench({"--device", "tpu"}); }), "--device 'tpu'");
  EXPECT_CONTAINS(testing::error_of([] {
                    run_bench({"--json", "/no/such/folder/b.json"});
                  }),
                  "--json /no/such/folder/b.json: folder /no/such/folder does not exist");
  EXPECT_CONTAINS(testing::error_of([] {
                    run_bench({"--no-training", "--no-evaluation", "--no-kernels"});
                  }),
                  "nothing to run");
  // The engine names the setting; the command line shows it as the flag.
  const auto engine_error = testing::error_of([] { run_bench({"--batch-size", "0"}); });
  EXPECT_EQ(engine_error, "`batch_size` must be at least 1 (got 0)");
  EXPECT_EQ(cli::with_flags(engine_error), "--batch-size must be at least 1 (got 0)");
}

// The operators a training step dispatches on the CPU, at the settings `polyphony bench` counts
// them with (music-small, batch 4096, one uniform negative): each model within its budget
// (docs/benchmarks.md, "Operators per step"). The counts are deterministic; a new operator in the
// step shows up here, by name.
TEST(StepOperators, EachModelStaysWithinItsBudget) {
  const auto data = small_data();
  const auto sampler = NegativeSampler::uniform(data.train);
  const ModelContext context{data.dataset.num_users, data.dataset.num_items, data.split.train.users,
                             data.split.train.items};
  const TrainerOptions training;  // batch 4096, one negative, BPR
  struct Budget {
    const char* model;
    nlohmann::json options;
    double operators;
  };
  // UI-ProtoMF at the prototype sizes bench uses (d 64, 64 + 64), with the filter and the
  // distributing regulariser as the issue counts it.
  const Budget budgets[] = {
      {"mf", nlohmann::json::object(), 40},
      {"lightgcn", nlohmann::json::object(), 100},
      {"uiprotomf", {{"k_user", 25}, {"k_item", 25}, {"ortho_weight", 0.1}}, 200}};
  for (const auto& [name, options, budget] : budgets) {
    torch::manual_seed(0);
    auto model = make_model(name, context, options);
    const auto counts =
        count_step_operators(*model, data.split.train, sampler, training, torch::kCPU);
    std::string breakdown;
    for (const auto& [op, count] : counts.by_name)
      breakdown += fmt::format("\n  {:6.2f} {}", count, op);
    EXPECT_LE(counts.operators, budget) << name << breakdown;
    EXPECT_GT(counts.operators, 5) << name;  // the profiler saw the step
  }
}

}  // namespace
}  // namespace polyphony
