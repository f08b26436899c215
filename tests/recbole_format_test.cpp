// RecBole's atomic files (recbole.io, "Atomic Files") read as a dataset: typed headers, the
// default and chosen fields, the benchmark split files, feature files as attributes, and the
// errors, each naming the file, the line and the field.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "engine/data/attributes.h"
#include "engine/data/interaction_formats.h"
#include "engine/data/recbole_atomic.h"
#include "test_support.h"

namespace polyphony {
namespace {

using testing::error_of;
using testing::TempDir;
using Pairs = std::vector<std::pair<std::string, std::string>>;

Pairs pairs_read(const InteractionLog& log) {
  Pairs out;
  for (size_t k = 0; k < log.users.size(); ++k)
    out.emplace_back(log.user_ids.ids()[log.users[k]], log.item_ids.ids()[log.items[k]]);
  return out;
}

// The first rows of RecBole's ml-1m.inter as its documentation shows them, with a review
// sequence, a quoted token holding a tab, text ids that are not numbers, and a decimal time.
constexpr const char* kInter =
    "user_id:token\titem_id:token\trating:float\ttimestamp:float\treview:token_seq\n"
    "1\t1193\t5\t978300760\tgreat film\n"
    "1\t661\t3\t978302109.75\t\n"
    "007\t\"a\tb\"\t4.5\t978298413\tfine\n";

TEST(RecBole, ReadsAFolderWithRecBolesFieldNames) {
  TempDir dir;
  dir.write("ml-1m/ml-1m.inter", kInter);
  for (const auto& path :
       {dir.path() / "ml-1m", dir.path() / "ml-1m/", dir.path() / "ml-1m" / "ml-1m.inter"}) {
    const auto log = read_interactions("recbole", path, {});
    EXPECT_EQ(pairs_read(log), (Pairs{{"1", "1193"}, {"1", "661"}, {"007", "a\tb"}}));
    EXPECT_EQ(log.weights, (std::vector<float>{5, 3, 4.5}));
    EXPECT_EQ(log.timestamps, (std::vector<int64_t>{978300760, 978302109, 978298413}));
    EXPECT_TRUE(log.parts.empty());
    EXPECT_EQ(log.files, std::vector<std::filesystem::path>{dir.path() / "ml-1m/ml-1m.inter"});
  }
  ReadOptions options;
  options.min_weight = 4;
  EXPECT_EQ(pairs_read(read_interactions("recbole", dir.path() / "ml-1m", options)),
            (Pairs{{"1", "1193"}, {"007", "a\tb"}}));
}

TEST(RecBole, ColumnsChooseTheFieldsAndNoneLeavesOneOut) {
  TempDir dir;
  // An implicit dataset with a rating of -1 for "watched, not rated", as RecBole's anime files.
  const auto file = dir.write("anime/anime.inter",
                              "uid:token\tiid:token\trating:float\tplays:float\n"
                              "u1\ti1\t-1\t3\nu2\ti1\t8\t1\n");
  ReadOptions options;
  options.columns.user = "uid";
  options.columns.item = "iid";
  EXPECT_CONTAINS(error_of([&] { read_interactions("recbole", file, options); }),
                  "anime.inter:2: rating -1 is negative");
  options.columns.weight = "none";
  auto log = read_interactions("recbole", file, options);
  EXPECT_EQ(pairs_read(log), (Pairs{{"u1", "i1"}, {"u2", "i1"}}));
  EXPECT_TRUE(log.weights.empty());
  options.columns.weight = "plays";
  log = read_interactions("recbole", file, options);
  EXPECT_EQ(log.weights, (std::vector<float>{3, 1}));
  // Without `columns` the default user_id is looked for, and the message lists the fields.
  EXPECT_CONTAINS(error_of([&] { read_interactions("recbole", file, {}); }),
                  "anime.inter:1: no field 'user_id' for the user in the header (fields: "
                  "uid:token, iid:token, rating:float, plays:float)");
  options.columns.timestamp = "when";
  EXPECT_CONTAINS(error_of([&] { read_interactions("recbole", file, options); }),
                  "no field 'when' for the timestamp");
}

TEST(RecBole, BenchmarkFilesAreAPredefinedSplit) {
  TempDir dir;
  const std::string header = "user_id:token\titem_id:token\n";
  dir.write("b/b.train.inter", header + "1\t10\n1\t11\n2\t10\n");
  dir.write("b/b.valid.inter", header + "1\t12\n");
  dir.write("b/b.test.inter", header + "2\t13\n");
  for (const auto& path : {dir.path() / "b", dir.path() / "b/b.train.inter"}) {
    const auto log = read_interactions("recbole", path, {});
    EXPECT_EQ(pairs_read(log),
              (Pairs{{"1", "10"}, {"1", "11"}, {"2", "10"}, {"1", "12"}, {"2", "13"}}));
    EXPECT_EQ(log.parts, (std::vector<uint8_t>{0, 0, 0, 1, 2}));
    EXPECT_TRUE(log.weights.empty() && log.timestamps.empty());
  }
  // b.inter beside them is the whole dataset when the folder is given.
  dir.write("b/b.inter", header + "3\t14\n");
  EXPECT_EQ(pairs_read(read_interactions("recbole", dir.path() / "b", {})), (Pairs{{"3", "14"}}));
  EXPECT_EQ(read_interactions("recbole", dir.path() / "b/b.train.inter", {}).parts.size(), 5u);
  // Without a validation file: train and test.
  dir.write("c/c.train.inter", header + "1\t10\n");
  dir.write("c/c.test.inter", header + "1\t11\n");
  EXPECT_EQ(read_interactions("recbole", dir.path() / "c", {}).parts, (std::vector<uint8_t>{0, 2}));
  // A train file without its test file, a folder without the dataset's files.
  dir.write("d/d.train.inter", header + "1\t10\n");
  EXPECT_CONTAINS(error_of([&] { read_interactions("recbole", dir.path() / "d", {}); }),
                  "no d.test.inter beside d.train.inter");
  dir.write("e/other.inter", header + "1\t10\n");
  EXPECT_CONTAINS(error_of([&] { read_interactions("recbole", dir.path() / "e", {}); }),
                  "no e.inter and no e.train.inter in this folder (RecBole names the files after "
                  "the folder; .inter files here: other.inter; or give the .inter file itself)");
  EXPECT_CONTAINS(error_of([&] { read_interactions("recbole", dir.path() / "e/x.inter", {}); }),
                  "x.inter: no such file or folder");
  // Parts whose headers disagree on the weight would leave some interactions without one.
  dir.write("f/f.train.inter", "user_id:token\titem_id:token\trating:float\n1\t10\t4\n");
  dir.write("f/f.test.inter", header + "1\t11\n");
  EXPECT_CONTAINS(error_of([&] { read_interactions("recbole", dir.path() / "f", {}); }),
                  "f.test.inter: its header's weight and timestamp fields differ from "
                  "f.train.inter's");
}

TEST(RecBole, MalformedFilesNameTheFileLineAndField) {
  TempDir dir;
  auto error = [&](const std::string& text) {
    const auto file = dir.write("x/x.inter", text);
    return error_of([&] { read_interactions("recbole", file, {}); });
  };
  const std::string ok = "user_id:token\titem_id:token\trating:float\n";
  EXPECT_CONTAINS(error(""), "x.inter: empty file (expected a RecBole header");
  EXPECT_CONTAINS(error("user_id\titem_id\n1\t2\n"),
                  "x.inter:1: header field 'user_id' is not NAME:TYPE");
  EXPECT_CONTAINS(error("user_id:token\titem_id:int\n1\t2\n"),
                  "x.inter:1: field 'item_id' has the type 'int'; RecBole's types are token, "
                  "token_seq, float and float_seq");
  EXPECT_CONTAINS(error("user_id:token\tuser_id:token\n"),
                  "x.inter:1: field 'user_id' appears twice in the header");
  EXPECT_CONTAINS(error("user_id:float\titem_id:token\n1\t2\n"),
                  "x.inter:1: the user field 'user_id' is float; Polyphony reads it as token");
  EXPECT_CONTAINS(error("user_id:token\titem_id:token\trating:token\n1\t2\tgood\n"),
                  "the weight field 'rating' is token; Polyphony reads it as float");
  EXPECT_CONTAINS(error(ok + "1\t2\t5\n1\t3\n"),
                  "x.inter:3: expected 3 fields separated by tab (the header's fields), found 2");
  EXPECT_CONTAINS(error(ok + "1\t2\tfive\n"), "x.inter:2: rating 'five' is not a number");
  EXPECT_CONTAINS(error(ok + "\t2\t5\n"), "x.inter:2: empty user id");
  EXPECT_CONTAINS(error(ok + "1\t\"2\t5\n"), "x.inter:2: unterminated or misplaced double quote");
  EXPECT_CONTAINS(error(ok), "x.inter: no interactions (the file is empty or holds only a header)");
  EXPECT_CONTAINS(error_of([&] { read_interactions("recbole", dir.write("y.csv", ok), {}); }),
                  "y.csv: the recbole format reads a folder NAME holding NAME.inter");
}

TEST(RecBole, FeatureFilesAreAttributesAndSequencesAreSeveralValues) {
  TempDir dir;
  // ml-1m.item as RecBole's documentation shows it, a repeated id (RecBole keeps the first) and
  // an id the dataset does not use.
  const auto items =
      dir.write("ml/ml.item",
                "item_id:token\tmovie_title:token_seq\trelease_year:token\tgenre:token_seq\n"
                "1\tToy Story\t1995\tAnimation Children's Comedy\n"
                "2\tJumanji\t1995\tAdventure  Children's Fantasy\n"
                "3\tHeat\t1995\t\n"
                "1\tToy Story again\t2000\tDrama\n"
                "99\tNot rated\t1990\tDrama\n");
  const std::vector<std::string> ids = {"1", "2", "3", "4"};
  EXPECT_EQ(read_attribute_column(items, "genre", ids),
            (std::vector<std::string>{"Animation|Children's|Comedy", "Adventure|Children's|Fantasy",
                                      "", ""}));
  EXPECT_EQ(read_attribute_column(items, "release_year", ids),
            (std::vector<std::string>{"1995", "1995", "1995", ""}));
  EXPECT_CONTAINS(error_of([&] { read_attribute_column(items, "country", ids); }),
                  "ml.item:1: no attribute column 'country' (the first column is the id; "
                  "attributes: movie_title, release_year, genre)");
  // A .item file's header is RecBole's: a type it does not know is an error naming the field.
  const auto bad = dir.write("ml/bad.item", "item_id:token\tgenre:tokens\n1\tx\n");
  EXPECT_CONTAINS(error_of([&] { read_attribute_column(bad, "genre", {"1"}); }),
                  "bad.item:1: field 'genre' has the type 'tokens'");
  // Elsewhere a header that is not every field typed is a plain table's.
  const auto plain = dir.write("ml/plain.tsv", "item_id:token\tgenre:tokens\n1\tx\n");
  EXPECT_EQ(read_attribute_column(plain, "genre:tokens", {"1"}), std::vector<std::string>{"x"});
}

TEST(RecBole, FilesBesideTheInteractionsAreFound) {
  TempDir dir;
  dir.write("m/m.inter", "user_id:token\titem_id:token\n1\t2\n");
  dir.write("m/m.item", "item_id:token\tgenre:token_seq\n2\tRock\n");
  auto files = recbole_files(dir.path() / "m");
  EXPECT_EQ(files.items, dir.path() / "m/m.item");
  EXPECT_TRUE(files.users.empty());
  dir.write("m/m.user", "user_id:token\tage:token\n1\t25\n");
  files = recbole_files(dir.path() / "m/m.inter");
  EXPECT_EQ(files.users, dir.path() / "m/m.user");
  EXPECT_TRUE(is_atomic_header("user_id:token\tage:token"));
  EXPECT_FALSE(is_atomic_header("user_id:token\tage"));
  EXPECT_FALSE(is_atomic_header("a:b:token"));
  EXPECT_EQ(atomic_sequence_values("  a  b c "), "a|b|c");
  EXPECT_EQ(atomic_sequence_values(""), "");
}

}  // namespace
}  // namespace polyphony
