// polyphony bench: training throughput (interactions/s) and evaluation throughput (users/s) of
// chosen models on a dataset, plus the kernel benchmarks, on the CPU and CUDA side by side, timed
// by Google Benchmark; a table with the GPU/CPU speed-up, JSON and a chart.

#include <torch/torch.h>

#include <algorithm>
#include <ctime>
#include <filesystem>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <cxxopts.hpp>

#include "benchmarks/benchmarks.h"
#include "common/error.h"
#include "engine/data/data_options.h"
#include "engine/data/prepared_data.h"
#include "engine/eval/evaluator_options.h"
#include "engine/run/run_directory.h"
#include "models/registry.h"
#include "tools/commands/benchmark_runs.h"
#include "tools/commands/commands.h"
#include "tools/options/data_options.h"
#include "tools/options/device.h"
#include "tools/options/train_options.h"
#include "tools/report/plots.h"

namespace polyphony::cli {
namespace fs = std::filesystem;
namespace {

std::vector<c10::Device> bench_devices(const std::vector<std::string>& names) {
  if (names == std::vector<std::string>{"all"}) return benchmark_devices();
  std::vector<c10::Device> devices;
  for (const auto& name : names) {
    if (name != "cpu" && name.rfind("cuda", 0) != 0)
      fail("--device '{}': expected all, cpu, cuda or a list such as cpu,cuda", name);
    devices.push_back(resolve_device(name));
  }
  return devices;
}

std::string human_rate(double rate) {
  if (rate <= 0) return "failed";
  if (rate >= 1e9) return fmt::format("{:.3g} G", rate / 1e9);
  if (rate >= 1e6) return fmt::format("{:.3g} M", rate / 1e6);
  if (rate >= 1e3) return fmt::format("{:.3g} k", rate / 1e3);
  return fmt::format("{:.3g}", rate);
}

// A training run's step counters, e.g. " (217 steps/s, 284 operators, 31 kernels, 0 syncs per
// step)"; empty for other benchmarks.
std::string step_counters(const BenchmarkRun& run) {
  const auto steps = run.counters.find("steps_per_second");
  if (steps == run.counters.end()) return "";
  std::string per_step;
  for (const auto& [key, label] :
       {std::pair{"operators_per_step", "operators"}, std::pair{"kernels_per_step", "kernels"},
        std::pair{"syncs_per_step", "syncs"}})
    if (const auto it = run.counters.find(key); it != run.counters.end())
      per_step += fmt::format(", {:.0f} {}", it->second, label);
  return fmt::format(" ({:.3g} steps/s{}{})", steps->second, per_step,
                     per_step.empty() ? "" : " per step");
}

// A training benchmark's operators per step, most frequent first, a line each.
std::string operator_list(const std::map<std::string, double>& per_step) {
  std::vector<std::pair<std::string, double>> sorted(per_step.begin(), per_step.end());
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  std::string out;
  for (const auto& [name, count] : sorted) out += fmt::format("      {:>7.2f}  {}\n", count, name);
  return out;
}

// The dataset's part of a benchmark name, without the slashes that separate a name's parts:
// the preset of a synthetic dataset, the folder and file name of a file.
std::string data_label(const std::string& source) {
  const auto colon = source.find(':');
  const std::string rest = colon == std::string::npos ? source : source.substr(colon + 1);
  if (source.rfind("synthetic:", 0) == 0) return rest;
  const fs::path path(rest);
  const std::string folder = path.parent_path().filename().string();
  return folder.empty() ? path.filename().string() : folder + "-" + path.filename().string();
}

std::string table(const std::vector<BenchmarkComparison>& rows,
                  const std::vector<std::string>& devices) {
  size_t width = 9;
  for (const auto& row : rows) width = std::max(width, row.what.size());
  std::string out = fmt::format("{:<{}}  {:<15}", "benchmark", width, "unit");
  for (const auto& d : devices) out += fmt::format("  {:>10}", d);
  const bool speedup = devices.size() == 2;
  if (speedup) out += fmt::format("  {:>10}", devices[1] + "/" + devices[0]);
  out += "\n";
  for (const auto& row : rows) {
    out += fmt::format("{:<{}}  {:<15}", row.what, width, row.unit);
    for (const auto& d : devices) {
      const auto run = row.by_device.find(d);
      out += fmt::format("  {:>10}",
                         run == row.by_device.end() ? "-" : human_rate(run->second.rate()));
    }
    if (speedup) {
      const double s = row.speedup(devices[1], devices[0]);
      out += fmt::format("  {:>10}", s > 0 ? fmt::format("{:.1f}×", s) : "-");
    }
    out += "\n";
  }
  return out;
}

void draw_chart(const std::vector<BenchmarkComparison>& rows,
                const std::vector<std::string>& devices, const fs::path& png) {
  Table data;
  data.columns = {"row"};
  for (const auto& d : devices) data.columns.push_back(d);
  std::string labels;
  for (size_t r = 0; r < rows.size(); ++r) {
    std::vector<double> values = {static_cast<double>(r)};
    for (const auto& d : devices) {
      const auto run = rows[r].by_device.find(d);
      const double rate = run == rows[r].by_device.end() ? 0 : run->second.rate();
      values.push_back(rate > 0 ? rate : std::nan(""));
    }
    data.rows.push_back(values);
    const std::string short_name = rows[r].what.substr(0, rows[r].what.find('/'));
    labels += fmt::format("{}'{} ({})' {}", r ? ", " : "", short_name, rows[r].unit, r);
  }
  const fs::path tsv = fs::path(png).replace_extension(".tsv");
  write_table(tsv, data);
  std::string plot;
  for (size_t d = 0; d < devices.size(); ++d)
    plot += fmt::format("{}'{}' using {} skip 1 title '{}'", d ? ", " : "", tsv.string(), d + 2,
                        devices[d]);
  draw_with_gnuplot(fmt::format("set title 'Throughput by device (higher is better)'\n"
                                "set style data histogram\nset style histogram clustered gap 1\n"
                                "set style fill solid 0.8 border -1\nset logscale y\n"
                                "set ylabel 'per second (log scale)'\nset grid ytics\n"
                                "set datafile missing 'nan'\nset termoption noenhanced\n"
                                "set bmargin 12\n"
                                "set xtics rotate by -40 font ',8' ({})\nplot {}\n",
                                labels, plot),
                    png, "leave out --plot");
}

// What the model benchmarks run: the models with their options, the training settings and the
// data.
struct Workload {
  std::vector<BenchmarkModel> models;
  TrainerOptions training;
  SamplerOptions sampler;  // uniform unless a configuration says otherwise
  DataSetup data;
};

// The registry's entry of `name`, a model of --models.
const ModelInfo& model_info(const std::string& name) {
  const auto& known = available_models();
  const auto info =
      std::find_if(known.begin(), known.end(), [&](const ModelInfo& i) { return i.name == name; });
  if (info == known.end())
    fail("--models: unknown model '{}' (polyphony train --help lists them)", name);
  return *info;
}

// The options of polyphony train a benchmark without --config takes, as train takes them.
const std::vector<std::string> kTrainOptions = {"batch-size", "negatives", "loss",
                                                "embedding-updates", "seed"};

// --models with their default options, --batch-size, --negatives, --loss and the data options.
Workload workload_from_options(const cxxopts::ParseResult& args) {
  Workload work;
  for (const auto& name : args["models"].as<std::vector<std::string>>())
    work.models.push_back({model_info(name).name});
  TrainSetup setup;
  land_named_rows(setup, args, kTrainOptions);
  work.training = setup.trainer;
  work.data = read_data_options(args, setup.seed);
  return work;
}

// --config FILE and --set SECTION.KEY=VALUE read as `polyphony train` reads them: the configured
// model with its options, its training settings (optimiser included) and its data. The options
// those replace are refused rather than silently overridden or ignored.
Workload configured_workload(const std::vector<std::string>& configs,
                             const std::vector<std::string>& settings,
                             const cxxopts::ParseResult& args) {
  const std::vector<std::string> own = {
      "device",  "no-training", "no-evaluation", "no-kernels",     "min-time",
      "threads", "json",        "plot",          "eval-memory-mb", "operators"};
  for (const auto& given : args.arguments())
    if (std::find(own.begin(), own.end(), given.key()) == own.end())
      fail(
          "--{} cannot be combined with --config or --set: set it in the configuration or "
          "with --set (e.g. --set train.batch_size=326)",
          given.key());
  if (configs.size() > 1) fail("--config given {} times: name one file", configs.size());
  std::vector<std::string> arguments;
  for (const auto& file : configs) arguments = {"--config", file};
  for (const auto& assignment : settings) {
    arguments.push_back("--set");
    arguments.push_back(assignment);
  }
  cxxopts::Options spec("polyphony bench", "");
  add_train_options(spec);
  const TrainSetup setup =
      read_train_setup(parse_arguments(spec, "polyphony bench", expand_configuration(arguments)));
  Workload work;
  work.models.push_back({setup.model, setup.model_options});  // checked by read_train_setup
  work.training = setup.trainer;
  work.sampler = setup.sampler;
  work.data = setup.data;
  return work;
}

// The options of `polyphony bench` (data options included).
cxxopts::Options bench_options() {
  cxxopts::Options spec("polyphony bench",
                        "Training and evaluation throughput of models, and the kernel "
                        "benchmarks, on the CPU and CUDA side by side.");
  spec.add_options()(
      "models", "registry names, comma-separated",
      cxxopts::value<std::vector<std::string>>()->default_value("mf,uiprotomf,lightgcn"))(
      "device", "all (the CPU and CUDA when present), cpu, cuda, or a list such as cpu,cuda",
      cxxopts::value<std::vector<std::string>>()->default_value("all"))(
      "eval-memory-mb", "memory budget of one evaluation chunk",
      cxxopts::value<int64_t>()->default_value("1024"))("no-training",
                                                        "skip the training benchmarks")(
      "no-evaluation", "skip the evaluation benchmarks")("no-kernels",
                                                         "skip the kernel benchmarks")(
      "operators",
      "list each training benchmark's operators per step by name (nested calls included)")(
      "min-time", "run each benchmark at least this many seconds",
      cxxopts::value<double>()->default_value("1"))(
      "threads", "CPU threads (default: LibTorch's choice)", cxxopts::value<int>())(
      "json", "also write the results to this JSON file", cxxopts::value<std::string>())(
      "plot", "also draw a chart into this PNG file (gnuplot)", cxxopts::value<std::string>())(
      "config",
      "benchmark the model of this run configuration (configs/*.toml) with its options, "
      "training settings and data",
      cxxopts::value<std::string>())(
      "set", "SECTION.KEY=VALUE (repeatable) on top of --config, as in polyphony train",
      cxxopts::value<std::string>())("h,help", "show this help");
  add_named_rows(spec, kTrainOptions);
  add_data_options(spec);
  return spec;
}

// How to run the benchmarks: on which devices, for how long, which groups.
struct BenchSettings {
  std::vector<c10::Device> devices;
  double min_time = 1;
  EvaluatorOptions evaluation;
  bool train = true, evaluate = true, kernels = true;
};

// Reads the settings (and sets the thread count), and checks the output folders before minutes
// of benchmarks, not after.
BenchSettings read_bench_settings(const cxxopts::ParseResult& args) {
  BenchSettings s;
  s.devices = bench_devices(args["device"].as<std::vector<std::string>>());
  s.min_time = args["min-time"].as<double>();
  if (!(s.min_time > 0)) fail("--min-time must be positive (got {})", s.min_time);
  if (args.count("threads")) set_cpu_threads(args["threads"].as<int>());
  s.evaluation.eval_memory_mb = args["eval-memory-mb"].as<int64_t>();
  if (s.evaluation.eval_memory_mb < 1)
    fail("--eval-memory-mb must be at least 1 (got {})", s.evaluation.eval_memory_mb);
  s.kernels = !args.count("no-kernels");
  s.train = !args.count("no-training");
  s.evaluate = !args.count("no-evaluation");
  if (!s.kernels && !s.train && !s.evaluate)
    fail("nothing to run: --no-training, --no-evaluation and --no-kernels together");
  for (const char* option : {"json", "plot"})
    if (args.count(option)) {
      const fs::path parent = fs::absolute(args[option].as<std::string>()).parent_path();
      if (!fs::is_directory(parent))
        fail("--{} {}: folder {} does not exist", option, args[option].as<std::string>(),
             parent.string());
    }
  return s;
}

// Registers the training and evaluation benchmarks of every model on every device, then the
// kernels at the CPU's sizes on every device, so that the columns compare.
std::vector<benchmark::internal::Benchmark*> register_workload(
    const Workload& work, const std::shared_ptr<const PreparedData>& data,
    const BenchSettings& settings) {
  const std::string data_name = data_label(data->dataset.source);
  std::vector<benchmark::internal::Benchmark*> registered;
  for (const auto& model : work.models) {
    const bool trainable = model_info(model.name).trainable;
    if (settings.train && !trainable)
      fmt::print("{} is fitted in closed form when built: no training benchmark\n", model.name);
    for (const auto& device : settings.devices) {
      if (settings.train && trainable)
        for (const auto& options : training_variants(work.training, device))
          registered.push_back(
              register_training_benchmark(data, data_name, model, options, device, work.sampler));
      if (settings.evaluate)
        registered.push_back(register_model_evaluation_benchmark(data, data_name, model,
                                                                 settings.evaluation, device));
    }
  }
  if (settings.kernels)
    for (const auto& device : settings.devices)
      for (auto* b : register_kernel_benchmarks(device, KernelSizes::cpu(), {16}))
        registered.push_back(b);
  for (auto* b : registered) b->MinTime(settings.min_time);
  return registered;
}

// The results as JSON: date, dataset, devices, training settings, models, every run and the
// speed-ups.
nlohmann::json results_json(const Workload& work, const std::string& dataset,
                            const BenchSettings& settings, const std::vector<BenchmarkRun>& runs,
                            const std::vector<BenchmarkComparison>& rows) {
  nlohmann::json out = {{"date", fmt::format("{:%Y-%m-%d}", fmt::gmtime(std::time(nullptr)))},
                        {"dataset", dataset}};
  std::vector<std::string> device_names;
  for (const auto& device : settings.devices) {
    device_names.push_back(device_label(device));
    out["devices"][device_label(device)] = describe_device(device);
  }
  const TrainerOptions& training = work.training;
  out["training"] = {
      {"batch_size", training.batch_size},
      {"negatives", training.negatives},
      {"loss", training.loss},
      {"optimizer", training.optimizer.name},
      {"embedding_updates", embedding_updates_name(training.optimizer.embedding_updates)},
      {"sampler", work.sampler.spec()}};
  for (const auto& model : work.models) out["models"][model.name] = model.options;
  for (const auto& run : runs) {
    nlohmann::json r = {
        {"name", run.name}, {"benchmark", run.what}, {"device", run.device}, {"unit", run.unit}};
    if (run.error.empty()) {
      r["rate"] = run.rate();
      r["iterations"] = run.iterations;
      r["seconds_per_iteration"] = run.seconds_per_iteration;
      if (!run.counters.empty()) r["counters"] = run.counters;
    } else {
      r["error"] = run.error;
    }
    out["runs"].push_back(r);
  }
  if (device_names.size() == 2)
    for (const auto& row : rows)
      if (const double s = row.speedup(device_names[1], device_names[0]); s > 0)
        out["speedups"][row.what] = s;
  return out;
}

}  // namespace

int bench(int argc, char** argv) {
  auto spec = bench_options();
  // --config and --set are taken out before cxxopts parses: a setting's value may hold commas.
  std::vector<std::string> arguments(argv + 1, argv + argc);
  const auto configs = take_option_values(arguments, "config");
  const auto settings = take_option_values(arguments, "set");
  auto args = parse_arguments(spec, "polyphony bench", arguments);
  if (args.count("help")) {
    fmt::print("{}\n", spec.help());
    return 0;
  }
  const Workload work = configs.empty() && settings.empty()
                            ? workload_from_options(args)
                            : configured_workload(configs, settings, args);
  const BenchSettings bench = read_bench_settings(args);

  auto data = std::make_shared<const PreparedData>(prepare_data(work.data));
  print_data_summary(*data, work.data);
  std::vector<std::string> device_names;
  for (const auto& device : bench.devices) {
    device_names.push_back(device_label(device));
    fmt::print("device {}: {}\n", device_label(device), describe_device(device));
  }
  const auto registered = register_workload(work, data, bench);
  fmt::print("running {} benchmarks, each for at least {} s\n", registered.size(), bench.min_time);
  std::fflush(stdout);

  const bool list_operators = args.count("operators") > 0;
  const auto runs = run_registered_benchmarks([&](const BenchmarkRun& run) {
    if (run.error.empty()) {
      fmt::print("  {:<58} {:>10} {}{}\n", run.name, human_rate(run.rate()), run.unit,
                 step_counters(run));
      if (list_operators) fmt::print("{}", operator_list(operator_profile(run.name)));
    } else {
      fmt::print("  {:<58} failed: {}\n", run.name, run.error);
    }
    std::fflush(stdout);
  });
  const auto rows = compare_devices(runs);
  fmt::print("\n{}", table(rows, device_names));

  if (args.count("json")) {
    const auto out = results_json(work, data->dataset.source, bench, runs, rows);
    write_file_atomically(args["json"].as<std::string>(), out.dump(2) + "\n");
    fmt::print("wrote {}\n", args["json"].as<std::string>());
  }
  if (args.count("plot")) {
    draw_chart(rows, device_names, args["plot"].as<std::string>());
    fmt::print("wrote {}\n", args["plot"].as<std::string>());
  }
  const bool failed =
      std::any_of(runs.begin(), runs.end(), [](const BenchmarkRun& r) { return !r.error.empty(); });
  return failed ? 1 : 0;
}

}  // namespace polyphony::cli
