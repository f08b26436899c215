// Retrieval from the FAISS indexes `polyphony export --faiss` writes, with its default settings:
// one query at a time (a serving request), top 10 by inner product, over a synthetic catalogue
// of 1,000,000 items in 64 dimensions. Each approximate index reports its recall@10 of the exact
// index's lists over 1,000 queries, beside its time per query.
//
// The catalogue: items around 2,000 centres (genres, scenes) drawn from N(0, I), each item its
// centre plus N(0, 0.7² I); queries drawn the same way. Real item vectors are clustered too, but
// how much is a property of the data: the recall here is this catalogue's, not a promise.
//
//   build/benchmarks/polyphony_retrieval_benchmark [--benchmark_filter=...]
//   POLYPHONY_RETRIEVAL_ITEMS=100000 ...   (a smaller catalogue)

#include <benchmark/benchmark.h>
#include <faiss/Index.h>
#include <faiss/index_io.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "engine/run/faiss_export.h"

namespace polyphony {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kDim = 64, kCentres = 2000, kQueries = 1000, kTop = 10;

int64_t catalogue_items() {
  const char* text = std::getenv("POLYPHONY_RETRIEVAL_ITEMS");
  return text ? std::max<int64_t>(kTop, std::atoll(text)) : 1000000;
}

// Clustered vectors: a centre each (from `centres`) plus Gaussian noise.
at::Tensor around(const at::Tensor& centres, int64_t n, torch::Generator& g) {
  const auto pick = torch::randint(centres.size(0), {n}, g, torch::kLong);
  return (centres.index_select(0, pick) + 0.7 * torch::randn({n, kDim}, g)).contiguous();
}

// The exported indexes, built once and read back as a server would, with the recall@10 the export
// measured for each over the queries (the users' vectors it was given).
class Catalogue {
 public:
  static Catalogue& get() {
    static Catalogue catalogue;
    return catalogue;
  }
  ~Catalogue() {
    std::error_code ec;
    fs::remove_all(folder_, ec);
  }
  const faiss::Index& index(const std::string& kind) const { return *indexes_.at(kind); }
  const at::Tensor& queries() const { return queries_; }
  double recall_at_10(const std::string& kind) const { return recall_.at(kind); }
  int64_t items() const { return items_; }

 private:
  Catalogue() : items_(catalogue_items()) {
    auto g = torch::make_generator<at::CPUGeneratorImpl>(20261207);
    const auto centres = torch::randn({kCentres, kDim}, g);
    const auto items = around(centres, items_, g);
    queries_ = around(centres, kQueries, g);
    folder_ = fs::temp_directory_path() / fmt::format("polyphony-retrieval-{}", ::getpid());
    fs::create_directories(folder_);
    const auto users = queries_.unsqueeze(1);
    for (const auto kind : {FaissIndexOptions::Kind::ivf, FaissIndexOptions::Kind::hnsw}) {
      FaissIndexOptions options;  // the export's defaults
      options.kind = kind;
      const auto written = export_faiss_indexes(
          items, users, folder_ / ("catalogue." + options.kind_name()), options);
      if (!indexes_.count("flat"))
        indexes_["flat"].reset(faiss::read_index(written.files[0].c_str()));
      indexes_[options.kind_name()].reset(faiss::read_index(written.files[1].c_str()));
      recall_[options.kind_name()] = written.recall_at_10;
      fs::remove(written.files[0]);  // a copy of the items per export: the disk need not hold two
    }
    recall_["flat"] = 1;
  }

  int64_t items_;
  fs::path folder_;
  std::map<std::string, std::unique_ptr<faiss::Index>> indexes_;
  std::map<std::string, double> recall_;
  at::Tensor queries_;
};

void BM_RetrievalQuery(benchmark::State& state, const std::string& kind) {
  const auto& catalogue = Catalogue::get();  // built with every core (FAISS's OpenMP loops)
  torch::set_num_threads(1);                 // a query on one thread, as one serving request
  const auto& index = catalogue.index(kind);
  const auto& queries = catalogue.queries();
  std::vector<float> distances(kTop);
  std::vector<faiss::Index::idx_t> ids(kTop);
  int64_t q = 0;
  for (auto _ : state) {
    index.search(1, queries[q].data_ptr<float>(), kTop, distances.data(), ids.data());
    benchmark::DoNotOptimize(ids.data());
    q = (q + 1) % kQueries;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["items"] = static_cast<double>(catalogue.items());
  state.counters["recall@10"] = catalogue.recall_at_10(kind);
}

}  // namespace
}  // namespace polyphony

int main(int argc, char** argv) {
  for (const std::string kind : {"flat", "ivf", "hnsw"})
    benchmark::RegisterBenchmark(("retrieval_query/" + kind).c_str(), [kind](benchmark::State& s) {
      polyphony::BM_RetrievalQuery(s, kind);
    })->Unit(benchmark::kMicrosecond);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
