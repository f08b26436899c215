// polyphony train: dataset -> split -> model -> trainer -> full-ranking test -> run directory.

#include <sys/resource.h>
#include <torch/torch.h>
#include <unistd.h>

#include <c10/util/Exception.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <string>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <cxxopts.hpp>

#include "analysis/spectral_diagnostics.h"
#include "common/error.h"
#include "engine/data/data_options.h"
#include "engine/data/line_reader.h"
#include "engine/data/negative_sampler.h"
#include "engine/data/prepared_data.h"
#include "engine/data/user_item_index.h"
#include "engine/dist/collective.h"
#include "engine/dist/process_group.h"
#include "engine/eval/evaluator_options.h"
#include "engine/eval/protocol_evaluator.h"
#include "engine/io/atomic_file.h"
#include "engine/run/free_core_threads.h"
#include "engine/run/run_directory.h"
#include "engine/run/torchscript_export.h"
#include "engine/train/checkpoint.h"
#include "engine/train/checkpoint_contents.h"
#include "engine/train/module_state.h"
#include "engine/train/trainer.h"
#include "models/registry.h"
#include "tools/commands/commands.h"
#include "tools/options/config_file.h"
#include "tools/options/data_options.h"
#include "tools/options/device.h"
#include "tools/options/memory_estimate.h"
#include "tools/options/train_options.h"
#include "tools/report/report.h"
#include "tools/run/progress.h"
#include "tools/run/resume.h"
#include "tools/run/run_config.h"
#include "tools/run/stop_signals.h"
#include "tools/track/mlflow_log.h"
#include "tools/track/tensorboard_log.h"

namespace polyphony::cli {
namespace {

// Removes --resume RUN_DIR (or --resume=RUN_DIR) from `arguments` and returns RUN_DIR.
std::optional<std::string> take_resume_option(std::vector<std::string>& arguments) {
  const auto runs = take_option_values(arguments, "resume");
  if (runs.size() > 1) fail("--resume given {} times: name one run directory", runs.size());
  if (runs.empty()) return std::nullopt;
  return runs.front();
}

// With --json the standard output carries the JSON result alone: until `restore`, everything
// printed for people (data summary, progress, tables) goes to the standard error.
class HumanOutputToStderr {
 public:
  HumanOutputToStderr() {
    std::fflush(stdout);
    saved_ = ::dup(STDOUT_FILENO);
    if (saved_ < 0 || ::dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
      fail("--json: cannot redirect the standard output");
  }
  ~HumanOutputToStderr() { restore(); }
  HumanOutputToStderr(const HumanOutputToStderr&) = delete;
  HumanOutputToStderr& operator=(const HumanOutputToStderr&) = delete;

  void restore() {
    if (saved_ < 0) return;
    std::fflush(stdout);
    ::dup2(saved_, STDOUT_FILENO);
    ::close(saved_);
    saved_ = -1;
  }

 private:
  int saved_ = -1;
};

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // Linux reports kilobytes
}

// Test hook: POLYPHONY_KILL_AT_STEP=N makes the process SIGKILL itself right after optimiser
// step N, the harshest crash there is, at a point a test can choose (tests/resume_test.sh).
int64_t kill_at_step() {
  const char* value = std::getenv("POLYPHONY_KILL_AT_STEP");
  int64_t step = -1;
  if (value && !parse_int64(value, step)) fail("POLYPHONY_KILL_AT_STEP='{}' is not a step", value);
  return step;
}

// True when `value` is the same on every process (64 bits as four exact 16-bit pieces).
bool same_on_every_process(Collective& collective, uint64_t value, c10::Device device) {
  std::vector<double> pieces;
  for (int shift = 0; shift < 64; shift += 16)
    pieces.push_back(static_cast<double>((value >> shift) & 0xffff));
  auto high = torch::tensor(pieces, torch::kDouble).to(device);
  auto low = -high;
  std::vector<at::Tensor> extremes{high, low};
  collective.all_reduce_max(extremes);
  return torch::equal(extremes[0], -extremes[1]);
}

// `polyphony train --resume RUN [OVERRIDES]`: the run and the arguments given with it.
struct ResumeRequest {
  std::string run;
  std::vector<std::string> overrides;
};

int train_with_arguments(const std::vector<std::string>& arguments,
                         const std::optional<ResumeRequest>& resume);

}  // namespace

int train(int argc, char** argv) {
  // --resume RUN_DIR replays the run's own arguments, then any given here (e.g. --epochs 50).
  std::vector<std::string> arguments(argv + 1, argv + argc);
  const auto resume_run = take_resume_option(arguments);
  if (resume_run)
    if (const auto outs = take_option_values(arguments, "out"); !outs.empty())
      fail("--resume {} continues that run in its own folder; leave out --out {}", *resume_run,
           outs.front());
  arguments = expand_configuration(arguments);
  std::optional<ResumeRequest> resume;
  if (resume_run) {
    resume = ResumeRequest{*resume_run, arguments};
    arguments = resumed_arguments(*resume_run, arguments);
  }
  return train_with_arguments(arguments, resume);
}

namespace {

// The data-parallel group a launcher asked for (torchrun or any launcher setting WORLD_SIZE,
// RANK, ...; a group of one joins too): one process of it, on GPU LOCAL_RANK when training on
// CUDA. Without a launcher, no group. Rank 0 alone prints and writes.
struct Processes {
  std::unique_ptr<Collective> collective;
  std::string backend;
  bool main() const { return !collective || collective->rank() == 0; }
};

Processes join_launched_group(c10::Device& device) {
  Processes p;
  const auto launch = launch_environment();
  if (!launch) return p;
  if (device.is_cuda())
    device = process_cuda_device(*launch, static_cast<int>(torch::cuda::device_count()));
  p.backend = process_group_backend(*launch, device);
  p.collective = join_process_group(*launch, device);
  if (launch->rank != 0 && !std::freopen("/dev/null", "w", stdout))
    fail("cannot silence the standard output of rank {}", launch->rank);
  return p;
}

void apply_process_settings(const TrainSetup& setup) {
  if (setup.threads > 0) set_cpu_threads(setup.threads);
  if (setup.deterministic) {
    at::globalContext().setDeterministicAlgorithms(true, true);
    // cuBLAS is deterministic only with a fixed workspace (read when its first handle is made,
    // which is later); a user's own setting wins.
    setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8", /*overwrite=*/0);
  }
}

// Resuming: the newest checkpoint that verifies, and proof that it belongs to this run (the same
// config but for what a resume may change, the same ids). Epoch lines after it are dropped.
std::optional<CheckpointDirectory::Found> checkpoint_to_resume(const std::filesystem::path& run,
                                                               const TrainerOptions& t,
                                                               const nlohmann::json& metadata,
                                                               c10::Device device, bool writer) {
  auto checkpoint = CheckpointDirectory(run / run_file::kCheckpoints, t.checkpoints.keep_last)
                        .newest_valid(device);
  int64_t completed_epochs = 0;
  if (checkpoint) {
    for (const auto& skipped : checkpoint->skipped)
      fmt::print("skipping a damaged checkpoint: {}\n", skipped);
    const auto saved = checkpoint_metadata(checkpoint->archive);
    check_resumable(saved.value("config", nlohmann::json()), metadata.at("config"), run,
                    "checkpoint " + checkpoint->path.string());
    if (saved.value("users", nlohmann::json()) != metadata.at("users") ||
        saved.value("items", nlohmann::json()) != metadata.at("items"))
      fail("cannot resume {}: the user or item ids differ from the checkpoint's", run.string());
    completed_epochs = checkpoint_epoch(checkpoint->archive);
    // Fewer epochs than trained would leave a config that does not describe the model.
    if (t.epochs < completed_epochs)
      fail(
          "--epochs {}: run {} has trained {} epochs already; a resume trains on from there "
          "(give --epochs {} or more)",
          t.epochs, run.string(), completed_epochs, completed_epochs);
    fmt::print("resuming from {} ({} epochs completed)\n", checkpoint->path.string(),
               completed_epochs);
  } else {
    std::ifstream saved_config(run / run_file::kConfigJson);
    const auto saved = nlohmann::json::parse(saved_config, nullptr, false);
    if (!saved.is_discarded())
      check_resumable(saved, metadata.at("config"), run, (run / run_file::kConfigJson).string());
    fmt::print("no checkpoint in {}: training from the start\n", run.string());
  }
  if (writer) truncate_epoch_log(run / run_file::kEpochLog, completed_epochs);
  return checkpoint;
}

// command.json: a new run's arguments; a resumed run's history with this resume's own added.
nlohmann::json command_json(const std::vector<std::string>& arguments,
                            const std::optional<ResumeRequest>& resume) {
  if (!resume) return {{"arguments", arguments}, {"resumes", nlohmann::json::array()}};
  auto command = read_command(resume->run);
  command["resumes"].push_back(
      {{"arguments", resume->overrides},
       {"date", fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(std::time(nullptr)))}});
  return command;
}

void write_run_files(const RunDirectory& run, const nlohmann::json& command,
                     const std::string& resolved_toml, const nlohmann::json& config,
                     const Dataset& dataset) {
  run.write_json(run_file::kCommand, command);
  write_file_atomically(run.path() / run_file::kConfigToml, resolved_toml);
  run.write_json(run_file::kConfigJson, config);
  run.write_lines(run_file::kUsers, dataset.user_ids);
  run.write_lines(run_file::kItems, dataset.item_ids);
}

// One line of metrics.jsonl.
nlohmann::json epoch_line(const EpochRecord& e, c10::Device device) {
  nlohmann::json line = {{"epoch", e.epoch},
                         {"global_step", e.global_step},
                         {"losses", e.losses},
                         {"lr", e.lr},
                         {"seconds", e.seconds},
                         {"step_seconds", e.step_seconds},
                         {"interactions_per_second", e.interactions_per_second},
                         {"peak_rss_mb", peak_rss_mb()}};
  if (const auto cuda_mb = take_peak_cuda_memory_mb(device)) line["peak_cuda_memory_mb"] = *cuda_mb;
  if (e.validation) line["valid"] = e.validation->metrics;
  return line;
}

// RUN/metrics.users.tsv: one line per evaluated test user (external id), NDCG@K and Recall@K at
// every K, for paired tests between runs on the same users.
void write_user_metrics(const RunDirectory& run, const EvaluationResult& test,
                        const std::vector<std::string>& user_ids) {
  std::string text = "user";
  for (const auto& [name, values] : test.per_user_metrics) text += "\t" + name;
  text += "\n";
  for (size_t i = 0; i < test.per_user_users.size(); ++i) {
    std::string id = user_ids.at(static_cast<size_t>(test.per_user_users[i]));
    std::replace(id.begin(), id.end(), '\t', ' ');  // an id must not break the columns
    text += id;
    for (const auto& [name, values] : test.per_user_metrics) text += fmt::format("\t{}", values[i]);
    text += "\n";
  }
  write_file_atomically(run.path() / run_file::kUserMetrics, text);
}

// What --json prints when a signal stopped the run, and the line for people.
int report_interrupted(const TrainingSummary& summary, const std::string& out,
                       std::optional<HumanOutputToStderr>& human_output, bool writer) {
  const char* signal = StopSignals::name(StopSignals::received());
  fmt::print(
      "\nstopped by {} after step {} (epoch {} completed); checkpoint {}\ncontinue with: "
      "polyphony train --resume {}\n",
      signal, summary.global_steps, summary.epochs_run, summary.last_checkpoint, out);
  if (human_output && writer) {
    human_output->restore();
    fmt::print("{}\n", nlohmann::json{{"run", out},
                                      {"interrupted", true},
                                      {"signal", signal},
                                      {"global_steps", summary.global_steps},
                                      {"epochs_run", summary.epochs_run},
                                      {"last_checkpoint", summary.last_checkpoint}}
                           .dump(2));
  }
  return kInterruptedExitStatus;
}

// Where the model has score factors: the spectrum of U Vᵀ and its alignment with popularity,
// printed and added to the test metrics.
void add_spectral_diagnostics(Recommender& model, const PreparedData& data, c10::Device device,
                              nlohmann::json& test_json) {
  torch::NoGradGuard no_grad;
  const auto& d = data.dataset;
  const auto factors =
      model.spectral_factors(torch::arange(d.num_users, torch::device(device).dtype(torch::kLong)));
  if (!factors) return;
  const auto spectrum = spectral_diagnostics(
      factors->users, factors->items, torch::bincount(data.split.train.items, {}, d.num_items));
  fmt::print(
      "  score matrix spectrum: σ1 {:.2f} ({:.1f}% of Σσ), |cos(principal item direction, "
      "popularity)| {:.4f}\n",
      spectrum.singular_values.front(), 100 * spectrum.first_singular_share,
      spectrum.principal_popularity_cosine);
  test_json["spectral"] = spectrum.to_json();
}

// LibTorch's default threads, unless the user chose them: as many as the cores other busy
// processes leave free (engine/run/free_core_threads.h). Not under --deterministic, whose promise
// should not rest on every operation's result being independent of the thread count.
std::optional<FreeCoreThreads> free_core_threads(const TrainSetup& setup) {
  if (setup.threads > 0 || std::getenv("OMP_NUM_THREADS") || setup.deterministic) return {};
  return FreeCoreThreads(at::get_num_threads());
}

// What an MLflow run is tagged with besides the settings' own tags.
std::vector<std::pair<std::string, std::string>> mlflow_tags(const cxxopts::ParseResult& args,
                                                             const TrainSetup& setup,
                                                             const Recommender& model,
                                                             const nlohmann::json& config,
                                                             c10::Device device) {
  std::vector<std::pair<std::string, std::string>> tags = {
      {"mlflow.source.name", "polyphony train"},
      {"mlflow.source.type", "LOCAL"},
      {"polyphony.version", POLYPHONY_VERSION},
      {"polyphony.model", model.kind()},
      {"polyphony.device", device.str()},
      {"polyphony.run_directory", std::filesystem::absolute(setup.out).string()},
      {"polyphony.dataset", setup.data.load.source.spec()}};
  const auto& split = config.at("data").value("split", nlohmann::json::object());
  if (split.contains("fingerprint"))
    tags.emplace_back("polyphony.data_fingerprint", split["fingerprint"].get<std::string>());
  if (const char* user = std::getenv("USER")) tags.emplace_back("mlflow.user", user);
  if (args.count("config")) {
    const std::string commit = git_commit_of(args["config"].as<std::string>());
    if (!commit.empty()) tags.emplace_back("polyphony.config_git_commit", commit);
  }
  if (setup.data.load.source.kind != "synthetic") {
    const std::string commit = git_commit_of(setup.data.load.source.argument);
    if (!commit.empty()) tags.emplace_back("polyphony.data_git_commit", commit);
  }
  return tags;
}

// The TorchScript export MLflow gets as an artifact (RUN/model.ts.pt); none for a model whose
// scores are not products of factors.
std::filesystem::path torchscript_for_mlflow(Recommender& model, const Dataset& dataset,
                                             const std::filesystem::path& run) {
  const auto file = run / "model.ts.pt";
  try {
    model.to(c10::kCPU);
    export_torchscript(model, dataset.user_ids, dataset.item_ids,
                       UserItemIndex(dataset.interactions, dataset.num_users, dataset.num_items),
                       file);
    return file;
  } catch (const Error& e) {
    fmt::print("no TorchScript export for MLflow: {}\n", e.what());
    return {};
  }
}

nlohmann::json summary_json(const TrainingSummary& summary, const std::string& monitor,
                            const Recommender& model, Processes& processes, c10::Device device) {
  nlohmann::json out = {{"epochs_run", summary.epochs_run},
                        {"best_epoch", summary.best_epoch},
                        {"best_valid_metric", summary.best_epoch ? summary.best_metric : 0.0},
                        {"monitor", monitor},
                        {"stopped_early", summary.stopped_early},
                        {"global_steps", summary.global_steps},
                        {"resumed_from_step", summary.resumed_from_step},
                        {"rollbacks", summary.rollbacks},
                        {"parameters_xxh64", fmt::format("{:016x}", module_fingerprint(model))},
                        {"train_seconds", summary.seconds}};
  if (processes.collective) {
    // Data parallelism keeps every replica identical; this proves it for the finished run.
    out["processes"] = processes.collective->world_size();
    out["parameters_identical_across_processes"] =
        same_on_every_process(*processes.collective, module_fingerprint(model), device);
  }
  return out;
}

// The data-parallel line, and the resolved configuration as config.resolved.json records it.
nlohmann::json training_config(const cxxopts::ParseResult& args, const TrainSetup& setup,
                               const PreparedData& data, const Recommender& model,
                               const TrainerOptions& t, const Processes& processes,
                               c10::Device device) {
  nlohmann::json config = run_config(args, setup, data, model, t.optimizer.embedding_updates);
  config["device"] = device.str();
  if (!processes.collective) return config;
  config["processes"] = processes.collective->world_size();
  fmt::print("data parallel: {} process{} ({} on {}), global batch {} per step\n",
             processes.collective->world_size(),
             processes.collective->world_size() == 1 ? "" : "es",
             processes.backend == "nccl" ? "NCCL" : "Gloo", device.str(), t.batch_size);
  return config;
}

// A training's run directory (process 0 only: the others hold none) and the checkpoint it
// resumes from.
struct TrainingRunDirectory {
  std::optional<RunDirectory> directory;
  std::optional<CheckpointDirectory::Found> checkpoint;
};

// Makes (or, resuming, opens) the run directory, finds the checkpoint to resume and writes the
// run's files; sets the checkpoint folder and metadata of `t`.
TrainingRunDirectory open_run(const cxxopts::ParseResult& args,
                              const std::vector<std::string>& arguments,
                              const std::optional<ResumeRequest>& resume, const TrainSetup& setup,
                              const Dataset& dataset, const nlohmann::json& config,
                              Processes& processes, TrainerOptions& t, c10::Device device) {
  TrainingRunDirectory run;
  // Only rank 0 writes; the others wait until the run directory exists.
  if (processes.main())
    run.directory = resume ? RunDirectory::open(setup.out) : RunDirectory::create(setup.out);
  if (processes.collective) processes.collective->barrier();
  const std::filesystem::path run_path = setup.out;
  t.checkpoints.folder = run_path / run_file::kCheckpoints;
  t.checkpoints.metadata = {
      {"config", config}, {"users", dataset.user_ids}, {"items", dataset.item_ids}};
  if (resume)
    run.checkpoint = checkpoint_to_resume(run_path, t, t.checkpoints.metadata, device,
                                          run.directory.has_value());
  if (run.directory)
    write_run_files(*run.directory, command_json(arguments, resume), resolved_config_toml(args),
                    config, dataset);
  return run;
}

struct Trackers {
  std::optional<TensorBoardLog> tensorboard;
  std::optional<MlflowLog> mlflow;
};

// Starts the trackers the settings ask for, in process 0 only.
void start_trackers(const cxxopts::ParseResult& args, const TrainSetup& setup,
                    TrainingRunDirectory& run, bool resuming, const nlohmann::json& config,
                    const Recommender& model, c10::Device device, Trackers& trackers) {
  if (!run.directory) return;
  const std::filesystem::path run_path = setup.out;
  if (setup.tensorboard) {
    std::optional<int64_t> resumed_step;
    if (resuming) resumed_step = run.checkpoint ? checkpoint_step(run.checkpoint->archive) : 0;
    trackers.tensorboard.emplace(run_path, resumed_step, config, setup.tensorboard_group);
  }
  if (!setup.mlflow.tracking_uri.empty())
    trackers.mlflow.emplace(run_path, setup.mlflow, config,
                            mlflow_tags(args, setup, model, config, device), resuming);
}

void print_run_header(const cxxopts::ParseResult& args, const TrainSetup& setup,
                      const TrainerOptions& t, const Recommender& model, c10::Device device) {
  fmt::print("model {} on {}, run directory {}\n", model.kind(), device.str(), setup.out);
  if (!setup.quiet)
    fmt::print("configuration (config.resolved.toml):\n{}", resolved_config_lines(args));
  if (setup.trainer.optimizer.embedding_updates == EmbeddingUpdates::kAuto)
    fmt::print("embedding updates: {} (auto: {} embedding rows, sparse from {})\n",
               embedding_updates_name(t.optimizer.embedding_updates),
               embedding_rows(model.embedding_tables()), kRowSparseFromRows);
}

// The parts of one training that its hooks and its end report to: the run's files, its trackers
// and the terminal.
struct TrainingParts {
  const TrainSetup& setup;
  const TrainerOptions& t;
  const PreparedData& data;
  ProtocolEvaluator& evaluator;
  TrainingRunDirectory& run;
  Trackers& trackers;
  ProgressDisplay& progress;
  std::optional<FreeCoreThreads>& free_cores;
  Collective* collective;
  int64_t kill_step;
  c10::Device device;
};

TrainerHooks training_hooks(const TrainingParts& to) {
  TrainerHooks hooks;
  if (to.data.split.valid.size() > 0) {
    hooks.validate = [&to](Recommender& m) {
      return to.evaluator.evaluate(m, to.data.train, to.data.valid, "valid");
    };
  }
  hooks.on_epoch = [&to](const EpochRecord& e) {
    const nlohmann::json line = epoch_line(e, to.device);
    if (to.run.directory) to.run.directory->append_json_line(run_file::kEpochLog, line);
    if (to.trackers.tensorboard) to.trackers.tensorboard->epoch(line);
    if (to.trackers.mlflow) to.trackers.mlflow->epoch(line);
    if (to.setup.quiet) return;
    to.progress.clear();
    std::string text = fmt::format("epoch {:>3}/{}  loss {:.4f}  {:.0f} interactions/s", e.epoch,
                                   to.t.epochs, e.losses.at("loss"), e.interactions_per_second);
    if (e.validation)
      text += fmt::format("  valid {} {:.4f}", to.t.monitor, e.validation->metric(to.t.monitor));
    fmt::print("{}\n", text);
  };
  hooks.on_step = [&to](const StepProgress& p) {
    if (p.global_step == to.kill_step) std::raise(SIGKILL);
    if (to.free_cores)
      if (const auto threads = to.free_cores->update(); threads && !to.setup.quiet) {
        to.progress.clear();
        fmt::print("CPU threads: {} (the cores other processes leave free)\n", *threads);
      }
    if (to.trackers.tensorboard) to.trackers.tensorboard->losses(p.global_step, p.losses);
    to.progress.update(p);
  };
  hooks.stop_requested = [] { return StopSignals::received() != 0; };
  hooks.collective = to.collective;
  hooks.log = [&to](const std::string& message) {
    to.progress.clear();
    fmt::print("{}\n", message);
  };
  return hooks;
}

// The trained model on the test split: printed, and with the summary written to the run.
int write_test_results(const TrainingParts& parts, const TrainingSummary& summary,
                       Recommender& model, Processes& processes,
                       std::optional<HumanOutputToStderr>& human_output) {
  const TrainSetup& setup = parts.setup;
  const PreparedData& data = parts.data;
  TrainingRunDirectory& run = parts.run;
  Trackers& trackers = parts.trackers;
  const c10::Device device = parts.device;
  const EvaluationResult test =
      parts.evaluator.evaluate(model, data.seen, data.test, "test", setup.user_metrics);
  fmt::print("\n{}", format_report(test, setup.top_k));
  if (run.directory) run.directory->save_model(run_file::kModel, model);
  nlohmann::json test_json = test.to_json();
  add_spectral_diagnostics(model, data, device, test_json);
  const nlohmann::json summary_out =
      summary_json(summary, parts.t.monitor, model, processes, device);
  if (!run.directory) return 0;
  run.directory->write_json(run_file::kTestMetrics, test_json);
  if (setup.user_metrics) write_user_metrics(*run.directory, test, data.dataset.user_ids);
  run.directory->write_json(run_file::kSummary, summary_out);
  if (trackers.tensorboard) trackers.tensorboard->finish(summary.global_steps, test.metrics);
  if (trackers.mlflow)
    trackers.mlflow->finish(summary.global_steps, test.metrics,
                            torchscript_for_mlflow(model, data.dataset, setup.out));
  fmt::print("\nwrote {}/{{config.resolved.json, metrics.json, metrics.jsonl, model.pt}}\n",
             setup.out);
  if (human_output) {
    human_output->restore();
    fmt::print(
        "{}\n",
        nlohmann::json{{"run", setup.out}, {"summary", summary_out}, {"test", test_json}}.dump(2));
  }
  return 0;
}

int train_with_arguments(const std::vector<std::string>& arguments,
                         const std::optional<ResumeRequest>& resume) {
  cxxopts::Options spec("polyphony train",
                        "Train a model, evaluate it by full ranking, write a run directory.");
  add_train_options(spec);
  spec.add_options()("h,help", "show this help");
  auto args = parse_arguments(spec, "polyphony train", arguments);
  if (args.count("help")) {
    fmt::print("{}\n", spec.help());
    return 0;
  }
  const TrainSetup setup = read_train_setup(args);
  // Before the data is read: a refused folder should not cost a dataset's loading time.
  if (!resume) check_new_run_directory(setup.out);
  std::optional<HumanOutputToStderr> human_output;
  if (setup.json) human_output.emplace();
  auto device = resolve_device(setup.device);
  Processes processes = join_launched_group(device);
  apply_process_settings(setup);
  const int64_t kill_step = kill_at_step();

  torch::manual_seed(setup.seed);
  const PreparedData data = prepare_data(setup.data);
  print_data_summary(data, setup.data);
  const Dataset& dataset = data.dataset;
  check_training_memory(setup, dataset.num_users, dataset.num_items, device);
  ModelContext context{dataset.num_users, dataset.num_items, data.split.train.users,
                       data.split.train.items};
  auto model = make_model(setup.model, context, setup.model_options);
  model->to(device);
  ProtocolEvaluator evaluator(sampled_negatives(setup.eval_protocol), data.train,
                              dataset.item_groups, setup.eval, device, data.user_groups);
  evaluator.set_collective(processes.collective.get());

  TrainerOptions t = setup.trainer;
  t.optimizer.embedding_updates = resolve_embedding_updates(
      setup.trainer.optimizer.embedding_updates, model->embedding_tables());
  const nlohmann::json config = training_config(args, setup, data, *model, t, processes, device);
  TrainingRunDirectory run =
      open_run(args, arguments, resume, setup, dataset, config, processes, t, device);
  Trackers trackers;
  start_trackers(args, setup, run, resume.has_value(), config, *model, device, trackers);
  print_run_header(args, setup, t, *model, device);

  const auto sampler = NegativeSampler::create(setup.sampler, data.train.to(device));
  fmt::print("negatives: {} per positive, {}\n", t.negatives, sampler.description());
  ProgressDisplay progress(t.batch_size, setup.progress_interval, !setup.quiet);
  auto free_cores = free_core_threads(setup);
  const TrainingParts parts{setup,     t,          data,
                            evaluator, run,        trackers,
                            progress,  free_cores, processes.collective.get(),
                            kill_step, device};
  const StopSignals stop_signals;
  Trainer trainer(*model, data.split.train.to(device), sampler, t, training_hooks(parts));
  TrainingSummary summary;
  try {
    summary = trainer.fit(run.checkpoint ? &run.checkpoint->archive : nullptr);
  } catch (const c10::OutOfMemoryError&) {
    fail(
        "out of memory on {} while training: lower --batch-size (now {}) or --negatives (now "
        "{}), or --eval-memory-mb (now {}) if it happened during validation",
        device.str(), t.batch_size, t.negatives, setup.eval.eval_memory_mb);
  }
  progress.clear();
  if (summary.interrupted) {
    if (trackers.mlflow) trackers.mlflow->interrupted();
    return report_interrupted(summary, setup.out, human_output, run.directory.has_value());
  }
  return write_test_results(parts, summary, *model, processes, human_output);
}

}  // namespace

}  // namespace polyphony::cli
