// The catalogue of bad input: every case fails with a message naming the file, the line and the
// offending text (or the option), one test each.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "engine/data/attributes.h"
#include "engine/data/data_options.h"
#include "engine/data/dataset_loader.h"
#include "engine/data/interaction_formats.h"
#include "engine/data/line_reader.h"
#include "engine/data/prepared_data.h"
#include "engine/data/preprocess.h"
#include "engine/data/split.h"
#include "engine/eval/evaluator_options.h"
#include "test_support.h"

namespace polyphony {
namespace {

using testing::error_of;
using testing::TempDir;

std::string read_error(const std::string& kind, const std::filesystem::path& path,
                       ReadOptions options = {}) {
  return error_of([&] { read_interactions(kind, path, options); });
}

TEST(BadInput, WrongColumnCount) {
  TempDir dir;
  const auto file = dir.write("ratings.dat", "1::1193::5::978300760\n1::661::3\n");
  const auto e = read_error("movielens", file);
  EXPECT_CONTAINS(e, file.string() + ":2:");
  EXPECT_CONTAINS(e, "expected 4 fields separated by '::'");
  EXPECT_CONTAINS(e, "found 3");
  EXPECT_CONTAINS(e, "'1::661::3'");
}

TEST(BadInput, NonNumericRating) {
  TempDir dir;
  const auto file = dir.write("u.data", "196\t242\t3\t881250949\n186\t302\tgood\t891717742\n");
  const auto e = read_error("ml100k", file);
  EXPECT_CONTAINS(e, ":2: rating 'good' is not a number");
}

TEST(BadInput, NegativePlayCount) {
  TempDir dir;
  const auto file = dir.write("user_artists.dat", "userID\tartistID\tweight\n2\t51\t-4\n");
  EXPECT_CONTAINS(read_error("lastfm-hetrec", file), ":2: play count -4 is negative");
}

TEST(BadInput, IdOverflow) {
  TempDir dir;
  const auto file = dir.write("counts.tsv", "1\t2\t3\n99999999999999999999999\t2\t3\n");
  EXPECT_CONTAINS(read_error("lfm", file),
                  ":2: user id '99999999999999999999999' overflows a 64-bit integer");
}

TEST(BadInput, NonIntegerIdInAnIntegerFormat) {
  TempDir dir;
  const auto file = dir.write("train.txt", "0 1 2\n1 x\n");
  dir.write("test.txt", "0 3\n");
  EXPECT_CONTAINS(read_error("lightgcn", dir.path()), "train.txt:2: item id 'x' is not an integer");
}

TEST(BadInput, EmptyFile) {
  TempDir dir;
  const auto file = dir.write("ratings.dat", "");
  EXPECT_CONTAINS(read_error("movielens", file), file.string() + ": no interactions");
}

TEST(BadInput, HeaderOnly) {
  TempDir dir;
  const auto file = dir.write("user_artists.dat", "userID\tartistID\tweight\n");
  EXPECT_CONTAINS(read_error("lastfm-hetrec", file), "no interactions");
}

TEST(BadInput, FileOfAnotherKind) {
  TempDir dir;
  // An ML-100k file given as MovieLens-1M: no '::' on the line.
  const auto ml100k = dir.write("u.data", "196\t242\t3\t881250949\n");
  EXPECT_CONTAINS(read_error("movielens", ml100k), "expected 4 fields separated by '::'");
  // A MovieLens file given as Last.fm HetRec: the header is missing.
  const auto ml = dir.write("ratings.dat", "1::1193::5::978300760\n");
  EXPECT_CONTAINS(read_error("lastfm-hetrec", ml),
                  ":1: expected the header 'userID artistID weight'");
}

TEST(BadInput, BinaryData) {
  TempDir dir;
  const auto file = dir.write("counts.tsv", std::string("1\t2\t3\n\x1f\x8b\x08\0\0", 11));
  EXPECT_CONTAINS(read_error("lfm", file), ":2: binary data");
}

TEST(BadInput, MissingFileAndFolder) {
  TempDir dir;
  EXPECT_CONTAINS(read_error("lfm", dir.path() / "nope.tsv"), "nope.tsv: no such file or folder");
  EXPECT_CONTAINS(read_error("movielens", dir.path()), "no ratings.dat in this folder");
  dir.write("train.txt", "0 1\n");
  EXPECT_CONTAINS(read_error("lightgcn", dir.path()), "no test.txt in this folder");
  EXPECT_CONTAINS(read_error("lfm", dir.path()), "is a folder; the lfm format expects a file");
}

TEST(BadInput, CsvColumnNotInHeader) {
  TempDir dir;
  const auto file = dir.write("plays.csv", "listener,artist\na,b\n");
  const auto e = read_error("csv", file);
  EXPECT_CONTAINS(e, ":1: no column 'user' for the user in the header (columns: listener, artist)");
  EXPECT_CONTAINS(e, "`columns` user=NAME");
}

TEST(BadInput, CsvUnterminatedQuote) {
  TempDir dir;
  const auto file = dir.write("plays.csv", "user,item\na,\"Sigur Rós\nb,c\n");
  EXPECT_CONTAINS(read_error("csv", file), ":2: unterminated or misplaced double quote");
}

TEST(BadInput, BadTimestamp) {
  TempDir dir;
  const auto file = dir.write("plays.csv", "user,item,t\na,b,last tuesday\n");
  ReadOptions options;
  options.columns.timestamp = "t";
  EXPECT_CONTAINS(read_error("csv", file, options),
                  ":2: timestamp 'last tuesday' is neither a number nor an ISO 8601 date");
}

TEST(BadInput, EmptyId) {
  TempDir dir;
  const auto file = dir.write("plays.csv", "user,item\n,b\n");
  EXPECT_CONTAINS(read_error("csv", file), ":2: empty user id");
}

TEST(BadInput, EverythingBelowTheThreshold) {
  TempDir dir;
  const auto file = dir.write("ratings.dat", "1::1193::2::978300760\n");
  ReadOptions options;
  options.min_weight = 4;
  EXPECT_CONTAINS(read_error("movielens", file, options),
                  "no interaction left after the minimum weight 4");
}

TEST(BadInput, EndlessLinesStopAtTheLimitNotAtTheMemory) {
  // /dev/zero used to grow one "line" until the process was killed (23.6 GB).
  EXPECT_CONTAINS(read_error("movielens", "/dev/zero"),
                  "/dev/zero:1: a line longer than 67108864 bytes: not a text file");
  TempDir dir;
  const auto file = dir.write("long.tsv", "1\t2\t3\n" + std::string(1000, '7') + "\n4\t5\n");
  LineReader reader(file, 64, 256);
  std::string_view line;
  ASSERT_TRUE(reader.next(line));
  EXPECT_EQ(error_of([&] { reader.next(line); }),
            file.string() + ":2: a line longer than 256 bytes: not a text file of interactions");
}

TEST(BadInput, ASingleItemLeavesNothingToRank) {
  TempDir dir;
  dir.write("ml/ratings.dat", "1::7::5::1\n2::7::4::2\n3::7::3::3\n3::8::1::4\n");
  DataSetup setup;
  setup.load.source = parse_dataset("movielens:" + (dir.path() / "ml").string());
  setup.load.read.min_weight = 2;  // item 8 has only a rating of 1
  EXPECT_CONTAINS(error_of([&] { prepare_data(setup); }),
                  "1 item left after reading and filtering; ranking needs at least 2");
}

TEST(BadInput, UnknownKindAndMalformedSpec) {
  DataOptions o;
  o.source = parse_dataset("parquet:x");
  EXPECT_CONTAINS(error_of([&] { load_dataset(o); }), "`dataset`: unknown kind 'parquet'");
  EXPECT_CONTAINS(error_of([&] { parse_dataset("ratings.dat"); }),
                  "`dataset` 'ratings.dat': expected KIND:ARGUMENT");
}

TEST(BadInput, SplitLeavingAUserWithoutTrainingData) {
  TempDir dir;
  const auto file =
      dir.write("ratings.dat", "1::10::5::1\n1::11::5::2\n1::12::5::3\n2::10::5::4\n");
  PreprocessReport report;
  const Dataset d =
      dataset_from_log(read_interactions("movielens", file, {}), "movielens:x", report);
  EXPECT_CONTAINS(error_of([&] { make_split(d, parse_split("loo:last")); }),
                  "user '2' has a single interaction, which leaves no training data");
}

TEST(BadInput, PredefinedSplitWithATestOnlyUser) {
  TempDir dir;
  dir.write("train.txt", "0 1 2\n");
  dir.write("test.txt", "0 3\n7 1\n");
  PreprocessReport report;
  const Dataset d =
      dataset_from_log(read_interactions("lightgcn", dir.path(), {}), "lightgcn:g", report);
  EXPECT_CONTAINS(error_of([&] { make_split(d, parse_split("files")); }),
                  "user '7' has held-out interactions but no training data under `split` files");
}

TEST(BadInput, PairInTwoPredefinedParts) {
  TempDir dir;
  dir.write("train.txt", "0 1 2\n");
  dir.write("test.txt", "0 2\n");
  PreprocessReport report;
  EXPECT_CONTAINS(error_of([&] {
                    dataset_from_log(read_interactions("lightgcn", dir.path(), {}), "lightgcn:g",
                                     report);
                  }),
                  "user '0' and item '2' appear in both the train and the test part");
}

TEST(BadInput, BadSplitSpecs) {
  for (const char* spec : {"ratio:0.8,x", "loo:first", "random", "temporal:"})
    EXPECT_CONTAINS(error_of([&] { make_split(Dataset{}, parse_split(spec)); }), "`split` '");
  // Well formed but out of range: the engine names the setting.
  EXPECT_CONTAINS(error_of([&] { make_split(Dataset{}, parse_split("ratio:1.5")); }),
                  "`split` ratio:1.5,0: the train share must be in (0, 1]");
}

TEST(BadInput, AttributeFileWithADuplicateId) {
  TempDir dir;
  const auto file = dir.write("artists.tsv", "id\tcountry\n51\tUS\n51\tIS\n");
  EXPECT_CONTAINS(error_of([&] { read_attribute_column(file, "country", {"51"}); }),
                  ":3: id '51' appears twice");
  EXPECT_CONTAINS(error_of([&] { read_attribute_column(file, "genre", {"51"}); }),
                  "no attribute column 'genre' (the first column is the id; attributes: country)");
}

}  // namespace
}  // namespace polyphony
