// Training and evaluation throughput of whole models on a prepared dataset: the epochs of one
// training run (sampling, forward, backward, optimiser step) and one full-ranking evaluation
// with every metric, on the CPU and, when present, CUDA.

#include <stdexcept>

#include <torch/torch.h>

#include "benchmarks/benchmarks.h"
#include "benchmarks/step_operators.h"
#include "engine/data/negative_sampler.h"
#include "engine/data/prepared_data.h"
#include "models/registry.h"

namespace polyphony {
namespace {

std::shared_ptr<Recommender> model_on(const PreparedData& data, const BenchmarkModel& spec,
                                      const c10::Device& device) {
  const ModelContext context{data.dataset.num_users, data.dataset.num_items, data.split.train.users,
                             data.split.train.items};
  auto model = make_model(spec.name, context, spec.options);
  model->to(device);
  return model;
}

// A failure (out of memory, say) ends this benchmark with its message instead of the whole run.
template <typename Body>
void guarded(benchmark::State& state, Body body) {
  try {
    body();
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

void train_epochs(benchmark::State& state, const std::string& label,
                  std::shared_ptr<const PreparedData> data, const BenchmarkModel& model_spec,
                  TrainerOptions options, const SamplerOptions& sampler_options,
                  c10::Device device) {
  guarded(state, [&] {
    torch::manual_seed(0);
    auto model = model_on(*data, model_spec, device);
    const auto sampler = NegativeSampler::create(sampler_options, data->train.to(device));
    const Interactions train = data->split.train.to(device);
    options.eval_every = 0;
    options.checkpoints.folder.clear();
    // One iteration is one epoch of a single run, as `polyphony train` runs them: the first epoch
    // pays for one-time setup (CUDA context, cuBLAS handles, allocator pools, the optimiser's
    // state for every row), and each later one is timed (KeepRunning after each epoch).
    options.epochs = 1 + static_cast<int64_t>(state.max_iterations);
    int64_t steps = 0, timed_from_step = -1;
    TrainerHooks hooks;
    // A "/graph" benchmark whose step could not be captured ran eagerly: its label says why.
    hooks.log = [&](const std::string& line) {
      if (line.rfind("CUDA graph: off", 0) == 0) state.SetLabel(line);
    };
    hooks.on_epoch = [&](const EpochRecord& record) {
      if (timed_from_step < 0) timed_from_step = record.global_step;
      steps = record.global_step - timed_from_step;
      state.KeepRunning();
    };
    Trainer(*model, train, sampler, options, hooks).fit();
    if (static_cast<int64_t>(state.iterations()) != options.epochs - 1)
      throw std::runtime_error("training ended before the benchmark's epochs were run");
    state.SetItemsProcessed(train.size() * state.iterations());
    state.counters["steps_per_second"] =
        benchmark::Counter(static_cast<double>(steps), benchmark::Counter::kIsRate);
    // A profiler that cannot start (no CUPTI, say) costs the counts, not the measured rate.
    try {
      const StepOperatorCounts counts =
          count_step_operators(*model, train, sampler, options, device);
      state.counters["operators_per_step"] = counts.operators;
      state.counters["setup_operators"] = counts.setup_operators;
      if (device.is_cuda()) {
        state.counters["kernels_per_step"] = counts.kernels;
        state.counters["syncs_per_step"] = counts.synchronizations;
      }
      record_operator_profile(label, counts.by_name);
    } catch (const std::exception& e) {
      state.SetLabel(std::string("launches not counted: ") + e.what());
    }
  });
}

void evaluate_model(benchmark::State& state, std::shared_ptr<const PreparedData> data,
                    const BenchmarkModel& model_spec, EvaluatorOptions options,
                    c10::Device device) {
  guarded(state, [&] {
    torch::manual_seed(0);
    auto model = model_on(*data, model_spec, device);
    const Evaluator evaluator(data->train, data->dataset.item_groups, options, device,
                              data->user_groups);
    const auto seen = data->seen.to(device), test = data->test.to(device);
    auto result = evaluator.evaluate(*model, seen, test, "test");
    for (auto _ : state) result = evaluator.evaluate(*model, seen, test, "test");
    state.SetItemsProcessed(result.users_evaluated * state.iterations());
  });
}

}  // namespace

std::vector<c10::Device> benchmark_devices() {
  std::vector<c10::Device> devices = {c10::Device(c10::kCPU)};
  if (torch::cuda::is_available()) devices.emplace_back(c10::kCUDA, 0);
  return devices;
}

std::string device_label(const c10::Device& device) { return device.is_cuda() ? "cuda" : "cpu"; }

std::vector<TrainerOptions> training_variants(const TrainerOptions& options,
                                              const c10::Device& device) {
  if (!device.is_cuda()) return {options};
  TrainerOptions eager = options, graph = options;
  eager.cuda_graph = CudaGraphMode::kOff;
  // The captured step of every model that nothing known stops, shown to replay or not: what
  // capture would gain is what the benchmark is there to measure.
  if (graph.cuda_graph == CudaGraphMode::kOff || graph.cuda_graph == CudaGraphMode::kAuto)
    graph.cuda_graph = CudaGraphMode::kTry;
  return {eager, graph};
}

benchmark::internal::Benchmark* register_training_benchmark(
    std::shared_ptr<const PreparedData> data, const std::string& name, const BenchmarkModel& model,
    const TrainerOptions& options, const c10::Device& device, const SamplerOptions& sampler) {
  // On CUDA the step is captured as a graph unless the options say off: "/graph" tells them apart.
  const bool graph = device.is_cuda() && options.cuda_graph != CudaGraphMode::kOff;
  const std::string label =
      "train_" + model.name + "/" + device_label(device) + "/" + name +
      "/B:" + std::to_string(options.batch_size) + "/n:" + std::to_string(options.negatives) +
      (options.optimizer.embedding_updates == EmbeddingUpdates::kRowSparse ? "/sparse" : "") +
      (graph ? "/graph" : "");
  return register_benchmark(label, "interactions/s", train_epochs, label, std::move(data), model,
                            options, sampler, device);
}

benchmark::internal::Benchmark* register_model_evaluation_benchmark(
    std::shared_ptr<const PreparedData> data, const std::string& name, const BenchmarkModel& model,
    const EvaluatorOptions& options, const c10::Device& device) {
  const std::string label = "evaluate_" + model.name + "/" + device_label(device) + "/" + name;
  return register_benchmark(label, "users/s", evaluate_model, std::move(data), model, options,
                            device);
}

void register_demo_training_benchmarks() {
  const DataSetup demo;  // the built-in dataset, as `polyphony train` uses it by default
  auto data = std::make_shared<const PreparedData>(prepare_data(demo));
  for (const auto& device : benchmark_devices())
    for (const std::string model : {"mf", "uiprotomf", "lightgcn"})
      for (const auto& options : training_variants(TrainerOptions{}, device))
        register_training_benchmark(data, "music-demo", {model}, options, device);
}

}  // namespace polyphony
