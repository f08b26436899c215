// polyphony export RUN_DIR|CHECKPOINT --out model.pt [--faiss ivf|hnsw|flat]: a TorchScript archive
// for serving, and FAISS retrieval indexes of its item vectors beside it.

#include <torch/torch.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <cxxopts.hpp>

#include "common/error.h"
#include "engine/data/user_item_index.h"
#include "engine/run/faiss_export.h"
#include "engine/run/torchscript_export.h"
#include "models/recommender.h"
#include "tools/commands/commands.h"
#include "tools/run/run_loader.h"

namespace polyphony::cli {

namespace {

void add_faiss_options(cxxopts::Options& spec) {
  const FaissIndexOptions defaults;
  spec.add_options("FAISS retrieval index")(
      "faiss",
      "also write FAISS indexes of the item vectors beside the archive, KIND hnsw, ivf or flat: "
      "OUT.flat.faiss (exact) and the approximate OUT.hnsw.faiss or OUT.ivf.faiss",
      cxxopts::value<std::string>())(
      "faiss-lists", "ivf: inverted lists (0: 4*sqrt(items), at most items/39)",
      cxxopts::value<int64_t>()->default_value(std::to_string(defaults.lists)))(
      "faiss-probes", "ivf: lists searched per query (0: lists/32, at least 8)",
      cxxopts::value<int64_t>()->default_value(std::to_string(defaults.probes)))(
      "faiss-hnsw-links", "hnsw: links per node",
      cxxopts::value<int64_t>()->default_value(std::to_string(defaults.hnsw_links)))(
      "faiss-ef-construction", "hnsw: candidates kept while building",
      cxxopts::value<int64_t>()->default_value(std::to_string(defaults.ef_construction)))(
      "faiss-ef-search", "hnsw: candidates kept while searching",
      cxxopts::value<int64_t>()->default_value(std::to_string(defaults.ef_search)));
}

FaissIndexOptions faiss_options(const cxxopts::ParseResult& args) {
  FaissIndexOptions o;
  o.kind = parse_faiss_kind(args["faiss"].as<std::string>());
  o.lists = args["faiss-lists"].as<int64_t>();
  o.probes = args["faiss-probes"].as<int64_t>();
  o.hnsw_links = args["faiss-hnsw-links"].as<int64_t>();
  o.ef_construction = args["faiss-ef-construction"].as<int64_t>();
  o.ef_search = args["faiss-ef-search"].as<int64_t>();
  check_faiss_options(o);  // before anything is written
  return o;
}

// Every file the export would write, so that one in the way stops it before anything is written.
std::vector<std::filesystem::path> files_to_write(const std::string& out,
                                                  const std::optional<FaissIndexOptions>& faiss) {
  std::vector<std::filesystem::path> files = {out};
  if (faiss) {
    const auto indexes = faiss_index_files(out, faiss->kind);
    files.insert(files.end(), indexes.begin(), indexes.end());
  }
  return files;
}

}  // namespace

int export_model(int argc, char** argv) {
  cxxopts::Options spec("polyphony export",
                        "Write a trained model as a TorchScript archive with score(users, items), "
                        "recommend(users, k), recommend_ids(user_ids, k), user_vectors(users) and "
                        "the id maps; with --faiss, retrieval indexes of its item vectors.");
  spec.add_options()("out", "archive to write, e.g. model.ts.pt", cxxopts::value<std::string>())(
      "force", "replace the archive (and indexes) if they exist");
  add_faiss_options(spec);
  add_run_argument(spec);
  const auto parsed = parse_run_command(spec, "export", argc, argv);
  if (!parsed) return 0;  // --help
  const auto& args = *parsed;
  if (!args.count("out")) fail("--out: where to write the archive is required");
  const std::string out = args["out"].as<std::string>();
  std::optional<FaissIndexOptions> faiss;
  if (args.count("faiss")) faiss = faiss_options(args);
  std::error_code ec;
  for (const auto& file : files_to_write(out, faiss))
    if (std::filesystem::exists(file, ec) && !args.count("force"))
      fail("--out {}: {}already exists; add --force to replace it", out,
           file == out ? "" : file.string() + " ");
  // Factors are computed once on the CPU; the archive moves to any device when loaded.
  OpenedRun run = open_run(args["run"].as<std::string>(), c10::kCPU);
  const Dataset& d = run.data.dataset;
  const UserItemIndex known(d.interactions, d.num_users, d.num_items);
  const MaxProductFactors factors =
      export_torchscript(*run.model, d.user_ids, d.item_ids, known, out);
  fmt::print("wrote {}: model {} ({} users, {} items), parameters from {}\n", out,
             run.model->kind(), d.num_users, d.num_items, run.parameters_from);
  fmt::print("load it with torch.jit.load(\"{}\") in Python or torch::jit::load in C++\n", out);
  const auto description = faiss_index_files(out, FaissIndexOptions::Kind::flat).back();
  if (!faiss && std::filesystem::exists(description, ec))
    fmt::print(
        "note: {} and its indexes are an earlier export's, not this archive's (export with "
        "--faiss to replace them)\n",
        description.string());
  if (faiss) {
    const auto start = std::chrono::steady_clock::now();
    const auto written = export_faiss_indexes(factors.items, factors.users, out, *faiss);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    fmt::print("wrote FAISS indexes of {} item vectors ({} dimensions, {} per user) in {:.1f} s:\n",
               factors.items.size(0), factors.items.size(1), factors.users.size(1), seconds);
    for (const auto& f : written.files) fmt::print("  {}\n", f.string());
    if (written.recall_users > 0)
      fmt::print("{} index: recall@10 {:.3f} of the exact index's neighbours over {} users{}\n",
                 faiss->kind_name(), written.recall_at_10, written.recall_users,
                 written.recall_at_10 >= 0.95 ? ""
                 : faiss->kind == FaissIndexOptions::Kind::ivf
                     ? " (below 0.95: raise --faiss-probes)"
                     : " (below 0.95: raise --faiss-ef-search)");
    fmt::print("query them as {} says (scripts/faiss_recommend.py does)\n",
               written.files.back().filename().string());
  }
  return 0;
}

}  // namespace polyphony::cli
