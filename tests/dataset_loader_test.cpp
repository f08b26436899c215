// Loading end to end: files -> preprocessing -> cache, and the cache's own guarantees.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>

#include "common/error.h"
#include "engine/data/data_options.h"
#include "engine/data/dataset_cache.h"
#include "engine/data/dataset_loader.h"
#include "engine/eval/evaluator_options.h"
#include "test_support.h"

namespace polyphony {
namespace {

using testing::TempDir;

void expect_same(const Dataset& a, const Dataset& b) {
  EXPECT_EQ(a.num_users, b.num_users);
  EXPECT_EQ(a.num_items, b.num_items);
  EXPECT_TRUE(torch::equal(a.interactions.users, b.interactions.users));
  EXPECT_TRUE(torch::equal(a.interactions.items, b.interactions.items));
  EXPECT_TRUE(torch::equal(a.interactions.weights, b.interactions.weights));
  EXPECT_TRUE(torch::equal(a.interactions.timestamps, b.interactions.timestamps));
  EXPECT_EQ(a.user_ids, b.user_ids);
  EXPECT_EQ(a.item_ids, b.item_ids);
}

std::string movielens_file(int64_t lines) {
  std::string text;
  for (int64_t k = 0; k < lines; ++k)
    text +=
        fmt::format("{}::{}::{}::{}\n", 1 + k % 37, 1 + (k * 7919) % 101, 1 + k % 5, 978300000 + k);
  return text;
}

TEST(DatasetLoader, CacheRoundTripsAndIsKeyedByContentAndOptions) {
  TempDir dir;
  dir.write("ml/ratings.dat", movielens_file(2000));
  DataOptions options;
  options.source = parse_dataset("movielens:" + (dir.path() / "ml").string());
  options.cache_dir = dir.path() / "cache";
  options.read.min_weight = 2;
  options.filters = {3, 3, true};

  const auto first = load_dataset(options);
  EXPECT_EQ(first.cache.rfind("wrote ", 0), 0u) << first.cache;
  const auto second = load_dataset(options);
  EXPECT_EQ(second.cache.rfind("hit ", 0), 0u) << second.cache;
  expect_same(first.dataset, second.dataset);
  EXPECT_EQ(second.report.records, 2000);
  EXPECT_EQ(second.report.duplicates, first.report.duplicates);

  DataOptions uncached = options;
  uncached.cache_dir.clear();
  expect_same(load_dataset(uncached).dataset, first.dataset);

  // Other options or other contents: another key.
  DataOptions other = options;
  other.read.min_weight = 3;
  EXPECT_EQ(load_dataset(other).cache.rfind("wrote ", 0), 0u);
  dir.write("ml/ratings.dat", movielens_file(2001));
  EXPECT_EQ(load_dataset(options).cache.rfind("wrote ", 0), 0u);
}

// RecBole's benchmark files: the cache holds their split, and each file's content is in the key.
TEST(DatasetLoader, RecBoleFilesAreCachedWithTheirSplitAndKeyedByEachFile) {
  TempDir dir;
  const std::string header = "user_id:token\titem_id:token\trating:float\ttimestamp:float\n";
  std::string train = header, test = header;
  for (int k = 0; k < 300; ++k)
    train += fmt::format("u{}\ti{}\t{}\t{}\n", k % 30, (k * 17) % 97, 1 + k % 5, 1000 + k);
  for (int u = 0; u < 30; ++u) test += fmt::format("u{}\tt{}\t4\t{}\n", u, u % 7, 5000 + u);
  dir.write("rb/rb.train.inter", train);
  dir.write("rb/rb.test.inter", test);
  DataOptions options;
  options.source = parse_dataset("recbole:" + (dir.path() / "rb").string());
  options.cache_dir = dir.path() / "cache";
  const auto first = load_dataset(options);
  EXPECT_EQ(first.cache.rfind("wrote ", 0), 0u) << first.cache;
  const auto second = load_dataset(options);
  EXPECT_EQ(second.cache.rfind("hit ", 0), 0u) << second.cache;
  expect_same(first.dataset, second.dataset);
  EXPECT_TRUE(torch::equal(first.dataset.predefined_part, second.dataset.predefined_part));
  EXPECT_EQ(second.dataset.predefined_part.eq(2).sum().item<int64_t>(), 30);
  // Another test file (the train file unchanged): another key.
  dir.write("rb/rb.test.inter", test + "u0\tt6\t5\t6000\n");
  EXPECT_EQ(load_dataset(options).cache.rfind("wrote ", 0), 0u);
}

TEST(DatasetLoader, TruncatedOrCorruptCacheIsRebuiltNeverTrusted) {
  TempDir dir;
  dir.write("ml/ratings.dat", movielens_file(500));
  DataOptions options;
  options.source = parse_dataset("movielens:" + (dir.path() / "ml").string());
  options.cache_dir = dir.path() / "cache";
  const auto original = load_dataset(options);
  const auto path = original.cache.substr(6);  // after "wrote "
  const auto size = std::filesystem::file_size(path);

  {  // flip one byte in the middle of the arrays
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(size / 2));
    char c = 0;
    f.read(&c, 1);
    f.seekp(static_cast<std::streamoff>(size / 2));
    c = static_cast<char>(c ^ 0x5a);
    f.write(&c, 1);
  }
  auto reloaded = load_dataset(options);
  EXPECT_NE(reloaded.cache.find("checksum mismatch"), std::string::npos) << reloaded.cache;
  expect_same(reloaded.dataset, original.dataset);

  std::filesystem::resize_file(path, size - 100);
  reloaded = load_dataset(options);
  EXPECT_NE(reloaded.cache.find("rebuilt"), std::string::npos) << reloaded.cache;
  expect_same(reloaded.dataset, original.dataset);
  EXPECT_EQ(load_dataset(options).cache.rfind("hit ", 0), 0u);  // the rebuilt one is good
}

TEST(DatasetLoader, CacheWithTheRightChecksumButIndicesOutOfRangeIsRefused) {
  TempDir dir;
  Dataset d;
  d.num_users = 2;
  d.num_items = 3;
  d.user_ids = {"u1", "u2"};
  d.item_ids = {"i1", "i2", "i3"};
  d.interactions.users = torch::tensor({0, 1}, torch::kLong);
  d.interactions.items = torch::tensor({2, 0}, torch::kLong);
  const CacheKey key{};
  const auto path = dir.path() / "cache.bin";
  PreprocessReport report;
  save_dataset_cache(path, key, d, report);
  EXPECT_EQ(load_dataset_cache(path, key, report).num_items, 3);

  for (const auto& [users, items] :
       {std::pair{std::vector<int64_t>{0, 2}, std::vector<int64_t>{0, 1}},
        {std::vector<int64_t>{0, 1}, std::vector<int64_t>{-1, 1}},
        {std::vector<int64_t>{0, 1}, std::vector<int64_t>{0, 3}}}) {
    d.interactions.users = torch::tensor(users, torch::kLong);
    d.interactions.items = torch::tensor(items, torch::kLong);
    save_dataset_cache(path, key, d, report);  // the writer seals whatever it is given
    try {
      load_dataset_cache(path, key, report);
      ADD_FAILURE() << "an index out of range was loaded";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("index out of range"), std::string::npos) << e.what();
    }
  }
}

TEST(DatasetLoader, UnwritableCacheKeepsTheParsedData) {
  TempDir dir;
  dir.write("ml/ratings.dat", movielens_file(100));
  dir.write("blocker", "a file where the cache folder should be");
  DataOptions options;
  options.source = parse_dataset("movielens:" + (dir.path() / "ml").string());
  options.cache_dir = dir.path() / "blocker" / "cache";
  const auto loaded = load_dataset(options);
  EXPECT_EQ(loaded.cache.rfind("not written", 0), 0u) << loaded.cache;
  EXPECT_GT(loaded.dataset.interactions.size(), 0);
}

TEST(DatasetLoader, SyntheticSpecsWithParameters) {
  DataOptions options;
  options.source =
      parse_dataset("synthetic:music-small,users=100,items=300,interactions=3000,seed=5");
  const auto loaded = load_dataset(options);
  EXPECT_EQ(loaded.dataset.num_users, 100);
  EXPECT_EQ(loaded.dataset.num_items, 300);
  EXPECT_NEAR(static_cast<double>(loaded.dataset.interactions.size()), 3000, 600);
  // Unknown keys are refused where the spec is parsed, naming it.
  EXPECT_NE(testing::error_of([&] {
              parse_dataset("synthetic:users=10,colour=blue");
            }).find("unknown key 'colour'"),
            std::string::npos);
}

}  // namespace
}  // namespace polyphony
