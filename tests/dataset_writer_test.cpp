// datagen's writer: every format it writes reads back as the same interactions.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <set>

#include "engine/data/data_options.h"
#include "engine/data/dataset_writer.h"
#include "engine/data/groups.h"
#include "engine/data/interaction_formats.h"
#include "engine/data/preprocess.h"
#include "engine/data/synthetic.h"
#include "engine/eval/evaluator_options.h"
#include "test_support.h"

namespace polyphony {
namespace {

// (user, item) pairs as dense indices of the original dataset, through the written ids.
std::set<std::pair<int64_t, int64_t>> pairs_in(const Dataset& d, int64_t id_base, bool external) {
  std::set<std::pair<int64_t, int64_t>> out;
  for (int64_t k = 0; k < d.interactions.size(); ++k) {
    const auto& u = d.user_ids[d.interactions.users[k].item<int64_t>()];
    const auto& i = d.item_ids[d.interactions.items[k].item<int64_t>()];
    if (external)
      out.emplace(std::stoll(u.substr(5)), std::stoll(i.substr(7)));  // user-NNNNNN, artist-NNNNNN
    else
      out.emplace(std::stoll(u) - id_base, std::stoll(i) - id_base);
  }
  return out;
}

TEST(DatasetWriter, EveryFormatReadsBackAsTheSameInteractions) {
  testing::TempDir dir;
  const Dataset original =
      generate_synthetic(parse_synthetic("music-small,users=60,items=200"), "s");
  const auto expected = pairs_in(original, 0, true);
  for (const std::string format :
       {"movielens", "ml100k", "lastfm-hetrec", "lfm", "csv", "lightgcn"}) {
    SCOPED_TRACE(format);
    const auto folder = dir.path() / format;
    const Split split = make_split(original, parse_split("ratio:0.8,0.1"));
    const auto files = write_dataset(original, format, folder, &split);
    const auto read_path = format == "lfm" || format == "csv" ? files.front() : folder;
    ReadOptions options;
    options.columns.timestamp = format == "csv" ? "timestamp" : "";
    PreprocessReport report;
    const Dataset back =
        dataset_from_log(read_interactions(format, read_path, options), format, report);
    EXPECT_EQ(back.interactions.size(), original.interactions.size());
    EXPECT_EQ(pairs_in(back, format == "lightgcn" ? 0 : 1, format == "csv"), expected);
    if (format == "movielens" || format == "csv") {
      EXPECT_EQ(back.interactions.timestamps.sum().item<int64_t>(),
                original.interactions.timestamps.sum().item<int64_t>());
    }
    if (format == "lightgcn") {
      EXPECT_EQ(make_split(back, parse_split("files")).test.size(), split.test.size());
    }
    // The item attribute file gives back the built-in groups.
    const auto groups = make_item_groups(parse_item_groups("attribute:country=US"), back,
                                         back.interactions, folder / "items.tsv");
    const auto original_groups = original.item_groups.group_of_item;
    for (int64_t i = 0; i < back.num_items; ++i) {
      const auto& id = back.item_ids[i];
      const int64_t source = format == "csv" ? std::stoll(id.substr(7))
                                             : std::stoll(id) - (format == "lightgcn" ? 0 : 1);
      ASSERT_EQ(groups.group_of_item[i].item<int64_t>(), original_groups[source].item<int64_t>())
          << id;
    }
  }
}

// RecBole's files: NAME.inter (external ids as tokens, a timestamp typed float) and
// NAME.item, or with a split the benchmark files, which read back as that split.
TEST(DatasetWriter, RecBoleFilesReadBackWithTheirSplit) {
  testing::TempDir dir;
  const Dataset original =
      generate_synthetic(parse_synthetic("music-small,users=60,items=200"), "s");
  const auto expected = pairs_in(original, 0, true);
  const auto whole = write_dataset(original, "recbole", dir.path() / "music");
  EXPECT_EQ(whole, (std::vector<std::filesystem::path>{dir.path() / "music/music.inter",
                                                       dir.path() / "music/music.item"}));
  // Synthetic data has timestamps and no ratings.
  EXPECT_EQ(testing::read_file(whole[0]).substr(0, 49),
            "user_id:token\titem_id:token\ttimestamp:float\nuser-");
  PreprocessReport report;
  const Dataset back =
      dataset_from_log(read_interactions("recbole", dir.path() / "music", {}), "recbole", report);
  EXPECT_EQ(pairs_in(back, 0, true), expected);
  EXPECT_EQ(back.interactions.timestamps.sum().item<int64_t>(),
            original.interactions.timestamps.sum().item<int64_t>());
  EXPECT_FALSE(back.predefined_part.defined());
  const auto groups = make_item_groups(parse_item_groups("attribute:country=US"), back,
                                       back.interactions, whole[1]);
  for (int64_t i = 0; i < back.num_items; ++i)
    ASSERT_EQ(
        groups.group_of_item[i].item<int64_t>(),
        original.item_groups.group_of_item[std::stoll(back.item_ids[i].substr(7))].item<int64_t>());

  const Split split = make_split(original, parse_split("loo:last"));
  const auto files = write_dataset(original, "recbole", dir.path() / "bench", &split);
  EXPECT_EQ(files.front(), dir.path() / "bench/bench.train.inter");
  const Dataset parts =
      dataset_from_log(read_interactions("recbole", dir.path() / "bench", {}), "recbole", report);
  const Split again = make_split(parts, parse_split("files"));
  EXPECT_EQ(again.train.size(), split.train.size());
  EXPECT_EQ(again.valid.size(), split.valid.size());
  EXPECT_EQ(again.test.size(), split.test.size());
  // Every test pair of the written split is a test pair read back.
  std::set<std::pair<std::string, std::string>> written, read;
  for (int64_t k = 0; k < split.test.size(); ++k)
    written.emplace(original.user_ids[split.test.users[k].item<int64_t>()],
                    original.item_ids[split.test.items[k].item<int64_t>()]);
  for (int64_t k = 0; k < again.test.size(); ++k)
    read.emplace(parts.user_ids[again.test.users[k].item<int64_t>()],
                 parts.item_ids[again.test.items[k].item<int64_t>()]);
  EXPECT_EQ(read, written);
}

TEST(DatasetWriter, ExistingFilesAreReplacedOnlyWhenAsked) {
  testing::TempDir dir;
  const Dataset d = generate_synthetic(parse_synthetic("music-small,users=30,items=90"), "s");
  const auto folder = dir.path() / "ml";
  const auto items = dir.write("ml/items.tsv", "kept\n");
  // items.tsv is in the way: nothing is written, not even ratings.dat, which comes first.
  EXPECT_EQ(testing::error_of([&] { write_dataset(d, "movielens", folder); }),
            items.string() + ": already exists; it is not replaced unless asked (`force`)");
  EXPECT_FALSE(std::filesystem::exists(folder / "ratings.dat"));
  EXPECT_EQ(testing::read_file(items), "kept\n");
  write_dataset(d, "movielens", folder, nullptr, /*replace=*/true);
  EXPECT_TRUE(std::filesystem::exists(folder / "ratings.dat"));
  EXPECT_NE(testing::read_file(items), "kept\n");
}

}  // namespace
}  // namespace polyphony
