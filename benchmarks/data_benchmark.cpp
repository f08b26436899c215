// Data benchmarks: parsing speed (MB/s on one core), cache loading against parsing, negative
// sampling throughput and synthetic generation. Input files are generated once into a temporary
// folder that is removed at exit.

#include <benchmark/benchmark.h>
#include <stdlib.h>
#include <torch/torch.h>

#include <filesystem>

#include "benchmarks/benchmarks.h"
#include "engine/data/dataset_cache.h"
#include "engine/data/dataset_loader.h"
#include "engine/data/dataset_writer.h"
#include "engine/data/negative_sampler.h"
#include "engine/data/split.h"
#include "engine/data/synthetic.h"
#include "engine/data/user_item_index.h"

namespace polyphony {
namespace {

namespace fs = std::filesystem;

// The benchmark input: a synthetic dataset of ~2M interactions written in two formats.
class Inputs {
 public:
  static Inputs& get() {
    static Inputs inputs;
    return inputs;
  }
  ~Inputs() {
    std::error_code ec;
    fs::remove_all(folder_, ec);
  }
  const fs::path& folder() const { return folder_; }
  const Dataset& dataset() const { return dataset_; }

 private:
  Inputs() {
    std::string pattern = (fs::temp_directory_path() / "polyphony-bench-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    folder_ = pattern;
    SyntheticOptions options;
    options.users = 20000;
    options.items = 200000;
    options.mean_items_per_user = 100;  // 2M interactions
    dataset_ = generate_synthetic(options, "bench");
    write_dataset(dataset_, "lfm", folder_ / "lfm");
    write_dataset(dataset_, "movielens", folder_ / "movielens");
  }
  fs::path folder_;
  Dataset dataset_;
};

void parse(benchmark::State& state, const std::string& kind, const std::string& file) {
  const fs::path path = Inputs::get().folder() / kind / file;
  ReadOptions options;
  int64_t bytes = 0;
  for (auto _ : state) {
    auto log = read_interactions(kind, path, options);
    bytes = log.bytes;
    benchmark::DoNotOptimize(log.users.data());
  }
  state.SetBytesProcessed(bytes * state.iterations());
  state.counters["MB"] = static_cast<double>(bytes) / 1e6;
}

// load_dataset end to end (parse + dedup), without and with the cache (hash the source + read).
void load(benchmark::State& state, bool cached) {
  DataOptions options;
  options.source = {"movielens", (Inputs::get().folder() / "movielens").string(), {}};
  if (cached) {
    options.cache_dir = Inputs::get().folder() / "cache";
    load_dataset(options);  // writes it
  }
  for (auto _ : state) {
    auto loaded = load_dataset(options);
    if (cached && loaded.cache.rfind("hit", 0) != 0) state.SkipWithError("cache missed");
    benchmark::DoNotOptimize(loaded.dataset.interactions.users.data_ptr());
  }
  state.SetItemsProcessed(Inputs::get().dataset().interactions.size() * state.iterations());
}

void sample(benchmark::State& state, const SamplerOptions& options, torch::Device device) {
  const Dataset& d = Inputs::get().dataset();
  const UserItemIndex train = UserItemIndex(d.interactions, d.num_users, d.num_items).to(device);
  const auto sampler = NegativeSampler::create(options, train);
  const int64_t batch = 4096, negatives = 38;
  auto users = torch::randint(d.num_users, {batch}, torch::dtype(torch::kLong).device(device));
  for (auto _ : state) {
    auto n = sampler.sample(users, negatives);
    if (device.is_cuda()) torch::cuda::synchronize();
    benchmark::DoNotOptimize(n.data_ptr());
  }
  state.SetItemsProcessed(batch * negatives * state.iterations());
}

void generate(benchmark::State& state, const std::string& spec) {
  int64_t n = 0;
  for (auto _ : state) {
    auto d = generate_synthetic(synthetic_preset(spec), "synthetic:" + spec);
    n = d.interactions.size();
  }
  state.SetItemsProcessed(n * state.iterations());
}

}  // namespace

void register_data_benchmarks() {
  for (const auto& [kind, file] : {std::pair<std::string, std::string>{"movielens", "ratings.dat"},
                                   {"lfm", "listening-counts.tsv"}})
    register_benchmark("data_parse/" + kind + "/2M_lines", "parses/s", parse, kind, file);
  register_benchmark("data_load/movielens/parse", "interactions/s", load, false);
  register_benchmark("data_load/movielens/cache", "interactions/s", load, true);
  for (const auto& device : benchmark_devices())
    for (const auto& options : {SamplerOptions{}, SamplerOptions{0.75}})
      register_benchmark(
          "negative_sampler_" + options.spec() + "/" + device_label(device) + "/B:4096/n:38",
          "negatives/s", sample, options, device)
          ->Unit(benchmark::kMicrosecond);
  register_benchmark("synthetic_generate/music-demo", "interactions/s", generate,
                     std::string("music-demo"));
}

}  // namespace polyphony
