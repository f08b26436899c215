// Each interaction format read from small files the test writes itself.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "engine/data/interaction_formats.h"
#include "engine/data/line_reader.h"
#include "test_support.h"

namespace polyphony {
namespace {

using testing::TempDir;

// (user id, item id) of every parsed record, by external id.
std::vector<std::pair<std::string, std::string>> pairs_of(const InteractionLog& log) {
  std::vector<std::pair<std::string, std::string>> out;
  for (size_t k = 0; k < log.users.size(); ++k)
    out.emplace_back(log.user_ids.ids()[log.users[k]], log.item_ids.ids()[log.items[k]]);
  return out;
}

using Pairs = std::vector<std::pair<std::string, std::string>>;

TEST(Formats, MovieLensDoubleColonRatingsWithThreshold) {
  TempDir dir;
  dir.write("ml-1m/ratings.dat",
            "1::1193::5::978300760\n1::661::3::978302109\n2::1193::4::978298413\n");
  ReadOptions options;
  auto log = read_interactions("movielens", dir.path() / "ml-1m", options);  // the folder
  EXPECT_EQ(pairs_of(log), (Pairs{{"1", "1193"}, {"1", "661"}, {"2", "1193"}}));
  EXPECT_EQ(log.weights, (std::vector<float>{5, 3, 4}));
  EXPECT_EQ(log.timestamps, (std::vector<int64_t>{978300760, 978302109, 978298413}));
  options.min_weight = 4;
  log = read_interactions("movielens", dir.path() / "ml-1m/ratings.dat", options);
  EXPECT_EQ(pairs_of(log), (Pairs{{"1", "1193"}, {"2", "1193"}}));
  EXPECT_EQ(log.records, 3);
  EXPECT_EQ(log.below_min_weight, 1);
}

TEST(Formats, MovieLens100kTabSeparated) {
  TempDir dir;
  const auto file = dir.write("u.data", "196\t242\t3\t881250949\n186\t302\t3\t891717742\n");
  const auto log = read_interactions("ml100k", file, {});
  EXPECT_EQ(pairs_of(log), (Pairs{{"196", "242"}, {"186", "302"}}));
  EXPECT_EQ(log.timestamps[1], 891717742);
}

TEST(Formats, LastFmHetrecWithHeaderAndCrlf) {
  TempDir dir;
  dir.write("hetrec/user_artists.dat",
            "userID\tartistID\tweight\r\n2\t51\t13883\r\n2\t52\t11690\r\n3\t51\t1\r\n");
  ReadOptions options;
  options.min_weight = 2;
  const auto log = read_interactions("lastfm-hetrec", dir.path() / "hetrec", options);
  EXPECT_EQ(pairs_of(log), (Pairs{{"2", "51"}, {"2", "52"}}));
  EXPECT_EQ(log.weights, (std::vector<float>{13883, 11690}));
  EXPECT_TRUE(log.timestamps.empty());
}

TEST(Formats, LfmWithAndWithoutHeader) {
  TempDir dir;
  const auto plain = dir.write("a.tsv", "10\t7\t3\n11\t7\t5\n");
  const auto headed = dir.write("b.tsv", "user_id\ttrack_id\tcount\n10\t7\t3\n11\t7\t5\n");
  EXPECT_EQ(pairs_of(read_interactions("lfm", plain, {})), (Pairs{{"10", "7"}, {"11", "7"}}));
  EXPECT_EQ(pairs_of(read_interactions("lfm", headed, {})), (Pairs{{"10", "7"}, {"11", "7"}}));
}

TEST(Formats, LightGcnFolderDefinesTheSplit) {
  TempDir dir;
  dir.write("g/train.txt", "0 1 2 3\n1 2\n");
  dir.write("g/valid.txt", "0 4\n");
  dir.write("g/test.txt", "0 5 6\n1 3 \n");  // a trailing space, as some published files have
  const auto log = read_interactions("lightgcn", dir.path() / "g", {});
  EXPECT_EQ(pairs_of(log), (Pairs{{"0", "1"},
                                  {"0", "2"},
                                  {"0", "3"},
                                  {"1", "2"},
                                  {"0", "4"},
                                  {"0", "5"},
                                  {"0", "6"},
                                  {"1", "3"}}));
  EXPECT_EQ(log.parts, (std::vector<uint8_t>{0, 0, 0, 0, 1, 2, 2, 2}));
}

TEST(Formats, CsvMapsColumnsByNameWithQuotesUnicodeAndIsoTimes) {
  TempDir dir;
  const auto file = dir.write("plays.csv",
                              "\xEF\xBB\xBFlistened_at,artist,listener,plays\n"
                              "2009-04-08T01:57:47Z,\"Sigur Rós, live\",user_000639,3\n"
                              "2009-04-08 01:53:56,坂本龍一,user_000639,1\n"
                              "1239155000,\"The \"\"Dogs\"\" D'Amour\",user_000001,7\n");
  ReadOptions options;
  options.columns = {"listener", "artist", "plays", "listened_at"};
  const auto log = read_interactions("csv", file, options);
  EXPECT_EQ(pairs_of(log), (Pairs{{"user_000639", "Sigur Rós, live"},
                                  {"user_000639", "坂本龍一"},
                                  {"user_000001", "The \"Dogs\" D'Amour"}}));
  EXPECT_EQ(log.timestamps, (std::vector<int64_t>{1239155867, 1239155636, 1239155000}));
  EXPECT_EQ(log.weights, (std::vector<float>{3, 1, 7}));
}

TEST(Formats, CsvWithAnExplicitDelimiter) {
  TempDir dir;
  const auto file = dir.write("x.txt", "u|i\na|b\nc|b\n");
  ReadOptions options;
  options.columns = {"u", "i", "", ""};
  options.delimiter = '|';
  EXPECT_EQ(pairs_of(read_interactions("csv", file, options)), (Pairs{{"a", "b"}, {"c", "b"}}));
}

TEST(Formats, IdsOfAnyFormKeepTheirIdentity) {
  IdMap ids;
  EXPECT_EQ(ids.index_of("7"), 0);
  EXPECT_EQ(ids.index_of("007"), 1);  // not the number 7
  EXPECT_EQ(ids.index_of(int64_t{7}), 0);
  EXPECT_EQ(ids.index_of("Ólafur Arnalds"), 2);
  EXPECT_EQ(ids.find("7"), 0);
  EXPECT_EQ(ids.find("8"), -1);
  EXPECT_EQ(ids.ids(), (std::vector<std::string>{"7", "007", "Ólafur Arnalds"}));
}

TEST(Formats, LongLinesAndFilesLargerThanTheBuffer) {
  TempDir dir;
  std::string contents, long_id(5000, 'x');
  for (int k = 0; k < 3000; ++k) contents += fmt::format("{}\t{}\t{}\n", k, k % 17, 1 + k % 5);
  contents += long_id + "\t1\t1";  // last line without a line end
  const auto file = dir.write("big.tsv", contents);
  LineReader reader(file, 64);  // a tiny buffer: every line crosses a refill
  std::string_view line;
  int64_t lines = 0;
  while (reader.next(line)) ++lines;
  EXPECT_EQ(lines, 3001);
  EXPECT_EQ(reader.bytes_read(), static_cast<int64_t>(contents.size()));
}

TEST(Formats, TimestampsParseStrictly) {
  int64_t t = 0;
  EXPECT_TRUE(parse_timestamp("978300760", t));
  EXPECT_EQ(t, 978300760);
  EXPECT_TRUE(parse_timestamp("1970-01-02", t));
  EXPECT_EQ(t, 86400);
  EXPECT_TRUE(parse_timestamp("2000-03-01T00:00:00Z", t));
  EXPECT_EQ(t, 951868800);
  EXPECT_TRUE(parse_timestamp("12.9", t));
  EXPECT_EQ(t, 12);
  for (const char* bad :
       {"", "yesterday", "2009-13-01", "2009-04-08T1:57:47", "12 ", "2009-04-08Tx"})
    EXPECT_FALSE(parse_timestamp(bad, t)) << bad;
}

}  // namespace
}  // namespace polyphony
