#pragma once
// Readers for the interaction files the field uses. Each streams its file(s), maps external ids
// to dense indices and stops at the first malformed line with an error naming the file, the line
// and the offending text.
//
//   movielens      ML-1M/10M ratings.dat: UserID::MovieID::Rating::Timestamp (a file, or a
//                  folder holding ratings.dat)
//   ml100k         MovieLens-100k u.data: user, item, rating, timestamp, tab-separated (a file,
//                  or a folder holding u.data)
//   lastfm-hetrec  HetRec 2011 user_artists.dat: header "userID artistID weight", tab-separated,
//                  weight = play count (a file, or a folder holding user_artists.dat)
//   lfm            LFM-1b/2b style "user item count", tab-separated; a first line whose count
//                  is not a number is a header
//   lightgcn       a folder with train.txt and test.txt (optional valid.txt), one line per user:
//                  "user item item ...", space-separated; the files define the split
//   csv            any delimiter, a header, columns mapped by name (user, item, optional weight
//                  and timestamp); RFC 4180 quoting
//   recbole        RecBole atomic files (recbole_atomic.h): NAME.inter, or the benchmark split
//                  NAME.train/.valid/.test.inter; fields user_id, item_id, rating, timestamp
//                  unless `columns` names others

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "engine/data/id_map.h"

namespace polyphony {

// Column names of a csv: file.
struct CsvColumns {
  std::string user = "user";
  std::string item = "item";
  std::string weight;     // empty: none
  std::string timestamp;  // empty: none
};

struct ReadOptions {
  /// Keep only interactions whose rating / play count / weight is at least this.
  std::optional<double> min_weight;
  /// csv: column mapping, and the delimiter (0: detected from the header: tab, ',', ';' or '|').
  /// recbole: the roles' fields (at csv's defaults: RecBole's names; `none` drops weight or
  /// timestamp), and the delimiter (0: tab).
  CsvColumns columns;
  char delimiter = 0;
};

// The parsed file(s) before any preprocessing, in file order.
struct InteractionLog {
  std::vector<int64_t> users, items;
  std::vector<float> weights;       // rating / play count; empty when the format has none
  std::vector<int64_t> timestamps;  // seconds; empty when the format has none
  std::vector<uint8_t> parts;       // predefined split (0 train, 1 valid, 2 test); else empty
  IdMap user_ids, item_ids;
  int64_t records = 0;                       // data lines (or user-item pairs) read
  int64_t below_min_weight = 0;              // records dropped by min_weight
  int64_t bytes = 0;                         // bytes parsed
  std::vector<std::filesystem::path> files;  // the files read, for cache keys and messages
};

// The kinds read_interactions accepts, in the order shown to users.
const std::vector<std::string>& interaction_formats();

// The files `kind` reads at `path` (a folder kind resolves to the files inside); an error when
// a required file is missing.
std::vector<std::filesystem::path> interaction_files(const std::string& kind,
                                                     const std::filesystem::path& path);

// Reads `path` as `kind` (one of interaction_formats()).
InteractionLog read_interactions(const std::string& kind, const std::filesystem::path& path,
                                 const ReadOptions& options);

}  // namespace polyphony
