// The FAISS indexes of an export, read back with FAISS's own reader: the exact index holds the
// item vectors and finds the largest inner products (against a plain double-precision top-k on
// fresh random vectors), the approximate ones keep their search settings and reach the exact
// neighbours when asked to search everything, and bad vectors or settings are refused.

#include <faiss/Index.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIVF.h>
#include <faiss/index_io.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>
#include <memory>

#include <nlohmann/json.hpp>

#include "engine/run/faiss_export.h"
#include "test_support.h"

namespace polyphony {
namespace {

using testing::error_of;
using testing::TempDir;

std::unique_ptr<faiss::Index> read_index(const std::filesystem::path& path) {
  return std::unique_ptr<faiss::Index>(faiss::read_index(path.c_str()));
}

// The ids of the k largest inner products of each query with the items, from `index`.
at::Tensor search(const faiss::Index& index, const at::Tensor& queries, int64_t k) {
  const auto q = queries.to(torch::kFloat).contiguous();
  std::vector<float> distances(static_cast<size_t>(q.size(0) * k));
  auto ids = torch::empty({q.size(0), k}, torch::kLong);
  index.search(q.size(0), q.data_ptr<float>(), k, distances.data(),
               reinterpret_cast<faiss::Index::idx_t*>(ids.data_ptr<int64_t>()));
  return ids;
}

TEST(FaissExport, ExactIndexHoldsTheItemsAndFindsTheLargestProducts) {
  TempDir dir;
  const auto items = torch::randn({300, 12});
  const auto users = torch::randn({40, 2, 12});
  FaissIndexOptions options;
  options.kind = FaissIndexOptions::Kind::hnsw;
  const auto out = export_faiss_indexes(items, users, dir.path() / "m.pt", options);
  EXPECT_EQ(out.files, (std::vector<std::filesystem::path>{dir.path() / "m.pt.flat.faiss",
                                                           dir.path() / "m.pt.hnsw.faiss",
                                                           dir.path() / "m.pt.faiss.json"}));
  const auto exact = read_index(out.files[0]);
  ASSERT_EQ(exact->ntotal, 300);
  std::vector<float> stored(300 * 12);
  exact->reconstruct_n(0, 300, stored.data());
  EXPECT_TRUE(torch::equal(torch::from_blob(stored.data(), {300, 12}), items));

  const auto queries = users.reshape({80, 12});
  const auto reference =
      std::get<1>(queries.to(torch::kDouble).mm(items.to(torch::kDouble).t()).topk(10, 1));
  EXPECT_TRUE(torch::equal(search(*exact, queries, 10), reference));

  nlohmann::json description;
  std::ifstream(out.files[2]) >> description;
  EXPECT_EQ(description["items"], 300);
  EXPECT_EQ(description["dim"], 12);
  EXPECT_EQ(description["vectors_per_user"], 2);
  EXPECT_EQ(description["exact"]["file"], "m.pt.flat.faiss");
  EXPECT_EQ(description["approximate"]["file"], "m.pt.hnsw.faiss");
  EXPECT_EQ(description["approximate"]["recall_at_10"].get<double>(), out.recall_at_10);
  EXPECT_EQ(out.recall_users, 40);
}

TEST(FaissExport, ApproximateIndexesKeepTheirSettingsAndReachTheExactNeighbours) {
  TempDir dir;
  const auto items = torch::randn({400, 8});
  const auto users = torch::randn({50, 1, 8});
  const auto queries = users.reshape({50, 8});
  FaissIndexOptions ivf;
  ivf.lists = 10;
  ivf.probes = 10;  // every list: an exhaustive search
  const auto ivf_out = export_faiss_indexes(items, users, dir.path() / "ivf.pt", ivf);
  const auto ivf_index = read_index(ivf_out.files[1]);
  const auto* as_ivf = dynamic_cast<const faiss::IndexIVF*>(ivf_index.get());
  ASSERT_NE(as_ivf, nullptr);
  EXPECT_EQ(as_ivf->nlist, 10u);
  EXPECT_EQ(as_ivf->nprobe, 10u);
  EXPECT_EQ(ivf_out.recall_at_10, 1.0);
  const auto exact = read_index(ivf_out.files[0]);
  EXPECT_TRUE(torch::equal(search(*ivf_index, queries, 10), search(*exact, queries, 10)));

  FaissIndexOptions hnsw;
  hnsw.kind = FaissIndexOptions::Kind::hnsw;
  hnsw.hnsw_links = 16;
  hnsw.ef_search = 400;  // as many candidates as items
  const auto hnsw_out = export_faiss_indexes(items, users, dir.path() / "hnsw.pt", hnsw);
  const auto hnsw_index = read_index(hnsw_out.files[1]);
  const auto* as_hnsw = dynamic_cast<const faiss::IndexHNSW*>(hnsw_index.get());
  ASSERT_NE(as_hnsw, nullptr);
  EXPECT_EQ(as_hnsw->hnsw.efSearch, 400);
  EXPECT_GE(hnsw_out.recall_at_10, 0.99);

  // The defaults: 4·√N lists, at most N / 39; a thirty-second of them searched, at least 8.
  const auto defaults = export_faiss_indexes(items, users, dir.path() / "d.pt", {});
  const auto* default_ivf =
      dynamic_cast<const faiss::IndexIVF*>(read_index(defaults.files[1]).release());
  ASSERT_NE(default_ivf, nullptr);
  EXPECT_EQ(default_ivf->nlist, 10u);  // 4·√400 = 80 > 400 / 39 = 10
  EXPECT_EQ(default_ivf->nprobe, 8u);
  delete default_ivf;

  FaissIndexOptions flat;
  flat.kind = FaissIndexOptions::Kind::flat;
  const auto flat_out = export_faiss_indexes(items, users, dir.path() / "f.pt", flat);
  EXPECT_EQ(flat_out.files.size(), 2u);
  EXPECT_EQ(flat_out.recall_users, 0);
}

TEST(FaissExport, RefusesBadVectorsAndSettings) {
  TempDir dir;
  const auto items = torch::randn({50, 4});
  const auto users = torch::randn({5, 1, 4});
  auto nan_items = items.clone();
  nan_items[3][1] = std::nan("");
  EXPECT_CONTAINS(error_of([&] { export_faiss_indexes(nan_items, users, dir.path() / "a", {}); }),
                  "item vectors hold NaN or infinite values");
  EXPECT_CONTAINS(error_of([&] {
                    export_faiss_indexes(items, torch::randn({5, 1, 3}), dir.path() / "a", {});
                  }),
                  "expected user vectors [users, M, 4], got [5, 1, 3]");
  FaissIndexOptions o;
  o.lists = 51;
  EXPECT_CONTAINS(error_of([&] { export_faiss_indexes(items, users, dir.path() / "a", o); }),
                  "`faiss_lists` 51: more inverted lists than the 50 items to cluster");
  o = {};
  o.hnsw_links = 1;
  EXPECT_CONTAINS(error_of([&] { check_faiss_options(o); }),
                  "`faiss_hnsw_links` must be at least 2 (got 1)");
  o = {};
  o.probes = -1;
  EXPECT_CONTAINS(error_of([&] { check_faiss_options(o); }), "`faiss_probes` must be non-negative");
  EXPECT_CONTAINS(error_of([&] { parse_faiss_kind("annoy"); }),
                  "`faiss` 'annoy': expected flat, ivf or hnsw");
  // Nothing was written by a refusal.
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

}  // namespace
}  // namespace polyphony
