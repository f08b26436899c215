#include "engine/run/faiss_export.h"

#include <ATen/ATen.h>
#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/impl/FaissException.h>
#include <faiss/impl/io.h>
#include <faiss/index_io.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>

#include <fmt/format.h>

#include "common/error.h"
#include "engine/io/atomic_file.h"

namespace polyphony {
namespace {

namespace fs = std::filesystem;

// The index serialised in memory, then written whole through a temporary name.
fs::path write_faiss_index(const faiss::Index& index, const fs::path& path) {
  faiss::VectorIOWriter bytes;
  try {
    faiss::write_index(&index, &bytes);
  } catch (const faiss::FaissException& e) {
    fail("{}: FAISS could not serialise the index: {}", path.string(), e.what());
  }
  write_file_atomically(path, std::string(bytes.data.begin(), bytes.data.end()));
  return path;
}

int64_t default_lists(int64_t n) {
  const auto by_size = static_cast<int64_t>(std::lround(4 * std::sqrt(static_cast<double>(n))));
  return std::max<int64_t>(1, std::min(by_size, n / 39));
}

// The approximate index's share of the exact index's 10 nearest items, over `queries` [S, F].
double recall_at_10(const faiss::Index& exact, const faiss::Index& approximate,
                    const at::Tensor& queries) {
  const int64_t s = queries.size(0), k = std::min<int64_t>(10, exact.ntotal);
  std::vector<float> distances(static_cast<size_t>(s * k));
  std::vector<faiss::Index::idx_t> want(distances.size()), got(distances.size());
  exact.search(s, queries.data_ptr<float>(), k, distances.data(), want.data());
  approximate.search(s, queries.data_ptr<float>(), k, distances.data(), got.data());
  int64_t hits = 0;
  for (int64_t q = 0; q < s; ++q) {
    const auto row = want.begin() + q * k;
    for (int64_t j = 0; j < k; ++j)
      hits += std::find(row, row + k, got[static_cast<size_t>(q * k + j)]) != row + k;
  }
  return static_cast<double>(hits) / static_cast<double>(std::max<int64_t>(1, s * k));
}

std::unique_ptr<faiss::Index> ivf_index(const at::Tensor& x, const FaissIndexOptions& o,
                                        nlohmann::json& description) {
  const int64_t n = x.size(0), d = x.size(1);
  const int64_t lists = o.lists > 0 ? o.lists : default_lists(n);
  const int64_t probes =
      std::min(lists, o.probes > 0 ? o.probes : std::max<int64_t>(8, lists / 32));
  auto index = std::make_unique<faiss::IndexIVFFlat>(
      new faiss::IndexFlatIP(d), d, static_cast<size_t>(lists), faiss::METRIC_INNER_PRODUCT);
  index->own_fields = true;  // the index deletes its quantizer
  index->cp.seed = 1234;     // k-means draws its start and sample from it: the same index each time
  index->train(n, x.data_ptr<float>());
  index->add(n, x.data_ptr<float>());
  index->nprobe = static_cast<size_t>(probes);
  description = {{"type", "IndexIVFFlat"}, {"lists", lists}, {"probes", probes}};
  return index;
}

std::unique_ptr<faiss::Index> hnsw_index(const at::Tensor& x, const FaissIndexOptions& o,
                                         nlohmann::json& description) {
  auto index = std::make_unique<faiss::IndexHNSWFlat>(
      static_cast<int>(x.size(1)), static_cast<int>(o.hnsw_links), faiss::METRIC_INNER_PRODUCT);
  index->hnsw.efConstruction = static_cast<int>(o.ef_construction);
  index->hnsw.efSearch = static_cast<int>(o.ef_search);
  index->add(x.size(0), x.data_ptr<float>());
  description = {{"type", "IndexHNSWFlat"},
                 {"links", o.hnsw_links},
                 {"ef_construction", o.ef_construction},
                 {"ef_search", o.ef_search}};
  return index;
}

// Up to 1000 users' vectors, spread evenly over the users, as queries [S·M, F].
at::Tensor sample_queries(const at::Tensor& user_vectors) {
  const int64_t users = user_vectors.size(0), sample = std::min<int64_t>(users, 1000);
  const auto rows = at::linspace(0, static_cast<double>(users - 1), sample).round().to(at::kLong);
  return user_vectors.index_select(0, rows.to(user_vectors.device()))
      .reshape({-1, user_vectors.size(2)})
      .to(at::kCPU, at::kFloat)
      .contiguous();
}

}  // namespace

void check_faiss_options(const FaissIndexOptions& o) {
  if (o.lists < 0) fail("`faiss_lists` must be non-negative (got {}; 0 chooses)", o.lists);
  if (o.probes < 0) fail("`faiss_probes` must be non-negative (got {}; 0 chooses)", o.probes);
  if (o.hnsw_links < 2) fail("`faiss_hnsw_links` must be at least 2 (got {})", o.hnsw_links);
  if (o.ef_construction < 1)
    fail("`faiss_ef_construction` must be at least 1 (got {})", o.ef_construction);
  if (o.ef_search < 1) fail("`faiss_ef_search` must be at least 1 (got {})", o.ef_search);
}

std::vector<fs::path> faiss_index_files(const fs::path& archive, FaissIndexOptions::Kind kind) {
  FaissIndexOptions named;
  named.kind = kind;
  std::vector<fs::path> files = {archive.string() + ".flat.faiss"};
  if (kind != FaissIndexOptions::Kind::flat)
    files.emplace_back(archive.string() + "." + named.kind_name() + ".faiss");
  files.emplace_back(archive.string() + ".faiss.json");
  return files;
}

std::string FaissIndexOptions::kind_name() const {
  switch (kind) {
    case Kind::flat:
      return "flat";
    case Kind::ivf:
      return "ivf";
    case Kind::hnsw:
      return "hnsw";
  }
  return "";
}

FaissIndexOptions::Kind parse_faiss_kind(const std::string& text) {
  if (text == "flat") return FaissIndexOptions::Kind::flat;
  if (text == "ivf") return FaissIndexOptions::Kind::ivf;
  if (text == "hnsw") return FaissIndexOptions::Kind::hnsw;
  fail("`faiss` '{}': expected flat, ivf or hnsw", text);
}

FaissExport export_faiss_indexes(const at::Tensor& item_vectors, const at::Tensor& user_vectors,
                                 const fs::path& archive, const FaissIndexOptions& options) {
  check_faiss_options(options);
  if (item_vectors.dim() != 2 || item_vectors.size(0) < 1 || item_vectors.size(1) < 1)
    fail("FAISS export: expected item vectors [items, dim], got {}",
         c10::str(item_vectors.sizes()));
  if (user_vectors.dim() != 3 || user_vectors.size(0) < 1 ||
      user_vectors.size(2) != item_vectors.size(1))
    fail("FAISS export: expected user vectors [users, M, {}], got {}", item_vectors.size(1),
         c10::str(user_vectors.sizes()));
  const auto x = item_vectors.detach().to(at::kCPU, at::kFloat).contiguous();
  if (!at::isfinite(x).all().item<bool>())
    fail("FAISS export: the model's item vectors hold NaN or infinite values");
  const int64_t n = x.size(0), d = x.size(1);
  if (options.kind == FaissIndexOptions::Kind::ivf && options.lists > n)
    fail("`faiss_lists` {}: more inverted lists than the {} items to cluster", options.lists, n);

  const auto paths = faiss_index_files(archive, options.kind);
  FaissExport out;
  out.recall_at_10 = std::numeric_limits<double>::quiet_NaN();
  nlohmann::json approximate;
  try {
    faiss::IndexFlatIP exact(d);
    exact.add(n, x.data_ptr<float>());
    out.files.push_back(write_faiss_index(exact, paths.front()));
    std::unique_ptr<faiss::Index> index;
    if (options.kind == FaissIndexOptions::Kind::ivf) index = ivf_index(x, options, approximate);
    if (options.kind == FaissIndexOptions::Kind::hnsw) index = hnsw_index(x, options, approximate);
    if (index) {
      const auto& path = paths[1];
      out.files.push_back(write_faiss_index(*index, path));
      out.recall_at_10 = recall_at_10(exact, *index, sample_queries(user_vectors.detach()));
      out.recall_users = std::min<int64_t>(user_vectors.size(0), 1000);
      approximate["file"] = path.filename().string();
      approximate["recall_at_10"] = out.recall_at_10;
      approximate["recall_measured_on"] = fmt::format(
          "the vectors of {} users spread over the id range: the share of the exact index's 10 "
          "nearest items the approximate index returns",
          out.recall_users);
    }
  } catch (const faiss::FaissException& e) {
    fail("FAISS export beside {}: {}", archive.string(), e.what());
  }
  out.description = {
      {"archive", archive.filename().string()},
      {"items", n},
      {"dim", d},
      {"vectors_per_user", user_vectors.size(1)},
      {"metric", "inner product"},
      {"ids", "an index id is the dense item index: the archive's item_ids[id]"},
      {"exact", {{"file", out.files.front().filename().string()}, {"type", "IndexFlatIP"}}},
      {"approximate", approximate},
      {"query",
       "search each of the user's vectors (archive.user_vectors(users): [B, M, F]) for k plus "
       "the number of the user's known items (archive.known_items_of(user)); drop the known "
       "items; an item's score is its largest over the user's vectors; keep the best k"}};
  const auto& description = paths.back();
  write_file_atomically(description, out.description.dump(2) + "\n");
  out.files.push_back(description);
  return out;
}

}  // namespace polyphony
