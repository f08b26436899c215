#include "engine/data/interaction_formats.h"

#include <algorithm>
#include <array>
#include <cctype>

#include <fmt/format.h>

#include "common/error.h"
#include "engine/data/line_reader.h"
#include "engine/data/recbole_atomic.h"

namespace polyphony {
namespace {

namespace fs = std::filesystem;

// Where each column of a delimited interaction file is, and how its values are read.
struct Layout {
  std::string delimiter;
  size_t fields = 0;        // every data line has exactly this many
  std::string description;  // e.g. "UserID::MovieID::Rating::Timestamp", for messages
  int user = 0, item = 1, weight = -1, timestamp = -1;
  std::string weight_name = "weight";
  bool integer_ids = false;  // the format's ids are integers (MovieLens, Last.fm)
  bool quoted = false;       // RFC 4180 quoting (csv)
};

bool blank(std::string_view line) {
  return std::all_of(line.begin(), line.end(),
                     [](char c) { return c == ' ' || c == '\t' || c == '\r'; });
}

std::string shown(std::string_view delimiter) {
  return delimiter == "\t" ? "tab" : fmt::format("'{}'", delimiter);
}

// Maps one id field; integer formats insist on a non-negative 64-bit integer.
int64_t map_id(IdMap& ids, std::string_view text, const char* what, const Layout& layout,
               const LineReader& reader) {
  if (text.empty()) reader.fail_here(fmt::format("empty {} id", what));
  if (!layout.integer_ids) return ids.index_of(text);
  int64_t value = 0;
  if (!parse_int64(text, value)) {
    const bool digits = std::all_of(text.begin(), text.end(), [](char c) {
      return std::isdigit(static_cast<unsigned char>(c));
    });
    reader.fail_here(digits ? fmt::format("{} id '{}' overflows a 64-bit integer", what, text)
                            : fmt::format("{} id '{}' is not an integer", what, text));
  }
  if (value < 0) reader.fail_here(fmt::format("{} id {} is negative", what, value));
  return ids.index_of(value);
}

void read_record(const std::vector<std::string_view>& fields, const Layout& layout,
                 const ReadOptions& options, const LineReader& reader, InteractionLog& log) {
  if (fields.size() != layout.fields)
    reader.fail_here(fmt::format("expected {} fields separated by {} ({}), found {}", layout.fields,
                                 shown(layout.delimiter), layout.description, fields.size()));
  ++log.records;
  float weight = 1;
  if (layout.weight >= 0) {
    double value = 0;
    const auto text = fields[layout.weight];
    if (!parse_double(text, value))
      reader.fail_here(fmt::format("{} '{}' is not a number", layout.weight_name, text));
    if (value < 0) reader.fail_here(fmt::format("{} {} is negative", layout.weight_name, text));
    if (options.min_weight && value < *options.min_weight) {
      ++log.below_min_weight;
      return;
    }
    weight = static_cast<float>(value);
  }
  int64_t timestamp = 0;
  if (layout.timestamp >= 0 && !parse_timestamp(fields[layout.timestamp], timestamp))
    reader.fail_here(fmt::format("timestamp '{}' is neither a number nor an ISO 8601 date",
                                 fields[layout.timestamp]));
  log.users.push_back(map_id(log.user_ids, fields[layout.user], "user", layout, reader));
  log.items.push_back(map_id(log.item_ids, fields[layout.item], "item", layout, reader));
  if (layout.weight >= 0) log.weights.push_back(weight);
  if (layout.timestamp >= 0) log.timestamps.push_back(timestamp);
}

// Header handling of a delimited file.
enum class Header { none, required, optional_if_not_numeric, already_checked };

// A first guess of the record count (short lines) saves most regrowth of the arrays.
void reserve_for_file(const fs::path& path, const Layout& layout, InteractionLog& log) {
  std::error_code ec;
  const auto guess = static_cast<size_t>(std::filesystem::file_size(path, ec) / 32);
  if (ec) return;
  log.users.reserve(guess);
  log.items.reserve(guess);
  if (layout.weight >= 0) log.weights.reserve(guess);
  if (layout.timestamp >= 0) log.timestamps.reserve(guess);
}

// Whether a file's first line, split into `fields`, is a header to skip; a required header that
// does not match is an error at that line.
bool skip_first_line(const std::vector<std::string_view>& fields, const Layout& layout,
                     Header header, const std::vector<std::string>& expected_header,
                     LineReader& reader) {
  if (header == Header::already_checked) return true;
  if (header == Header::required) {
    bool matches = fields.size() == expected_header.size();
    for (size_t k = 0; matches && k < fields.size(); ++k) matches = fields[k] == expected_header[k];
    if (!matches) {
      std::string wanted;
      for (const auto& name : expected_header) wanted += (wanted.empty() ? "" : " ") + name;
      reader.fail_here(
          fmt::format("expected the header '{}' ({} separated)", wanted, shown(layout.delimiter)));
    }
    return true;
  }
  double unused = 0;
  // A header line such as "user_id track_id count".
  return header == Header::optional_if_not_numeric && fields.size() == layout.fields &&
         !parse_double(fields[layout.weight], unused);
}

void read_delimited(const fs::path& path, const Layout& layout, Header header,
                    const std::vector<std::string>& expected_header, const ReadOptions& options,
                    InteractionLog& log) {
  LineReader reader(path);
  reserve_for_file(path, layout, log);
  std::vector<std::string_view> fields;
  std::vector<std::string> storage;
  std::string_view line;
  bool first = true;
  while (reader.next(line)) {
    if (blank(line)) continue;
    if (layout.quoted) {
      if (!split_quoted_fields(line, layout.delimiter[0], fields, storage))
        reader.fail_here("unterminated or misplaced double quote");
    } else {
      split_fields(line, layout.delimiter, fields);
    }
    if (first) {
      first = false;
      if (skip_first_line(fields, layout, header, expected_header, reader)) continue;
    }
    read_record(fields, layout, options, reader, log);
  }
  if (log.records == 0 && log.users.empty())
    fail("{}: no interactions (the file is empty or holds only a header)", path.string());
  log.bytes += reader.bytes_read();
  log.files.push_back(path);
}

// A folder kind given the folder, or a file of that kind given directly.
fs::path file_in(const fs::path& path, const char* name, const std::string& kind) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    if (*name == '\0') fail("{}: is a folder; the {} format expects a file", path.string(), kind);
    const fs::path file = path / name;
    if (!fs::exists(file, ec))
      fail("{}: no {} in this folder (expected by the {} format)", path.string(), name, kind);
    return file;
  }
  if (!fs::exists(path, ec)) fail("{}: no such file or folder", path.string());
  return path;
}

Layout movielens_layout(std::string delimiter, std::string description) {
  Layout l;
  l.delimiter = std::move(delimiter);
  l.fields = 4;
  l.description = std::move(description);
  l.weight = 2;
  l.timestamp = 3;
  l.weight_name = "rating";
  l.integer_ids = true;
  return l;
}

Layout play_count_layout(std::string description) {
  Layout l;
  l.delimiter = "\t";
  l.fields = 3;
  l.description = std::move(description);
  l.weight = 2;
  l.weight_name = "play count";
  l.integer_ids = true;
  return l;
}

char detect_delimiter(const fs::path& path) {
  LineReader reader(path, 1 << 16);
  std::string_view header;
  while (reader.next(header) && blank(header)) {
  }
  for (char c : {'\t', ',', ';', '|'})
    if (header.find(c) != std::string_view::npos) return c;
  fail("{}:1: cannot tell the delimiter of the header (none of tab , ; |): '{}'; pass `delimiter`",
       path.string(), header);
}

void read_csv(const fs::path& path, const ReadOptions& options, InteractionLog& log) {
  Layout layout;
  layout.delimiter = std::string(1, options.delimiter ? options.delimiter : detect_delimiter(path));
  layout.quoted = true;
  {
    LineReader reader(path, 1 << 16);
    std::string_view line;
    while (reader.next(line) && blank(line)) {
    }
    if (reader.line_number() == 0 || blank(line))
      fail("{}: empty file (expected a header line)", path.string());
    std::vector<std::string_view> names;
    std::vector<std::string> storage;
    if (!split_quoted_fields(line, layout.delimiter[0], names, storage))
      reader.fail_here("unterminated double quote in the header");
    layout.fields = names.size();
    std::string all;
    for (auto n : names) all += fmt::format("{}{}", all.empty() ? "" : ", ", n);
    auto column = [&](const std::string& name, const char* role) {
      const auto it = std::find(names.begin(), names.end(), name);
      if (it == names.end())
        fail(
            "{}:{}: no column '{}' for the {} in the header (columns: {}); map columns with "
            "`columns` user=NAME,item=NAME[,weight=NAME][,timestamp=NAME]",
            path.string(), reader.line_number(), name, role, all);
      return static_cast<int>(it - names.begin());
    };
    layout.user = column(options.columns.user, "user");
    layout.item = column(options.columns.item, "item");
    if (!options.columns.weight.empty()) layout.weight = column(options.columns.weight, "weight");
    if (!options.columns.timestamp.empty())
      layout.timestamp = column(options.columns.timestamp, "timestamp");
    layout.description = "the header's columns";
  }
  read_delimited(path, layout, Header::already_checked, {}, options, log);
}

// The header of a RecBole file and the fields its roles read: `columns` names a role's field
// as RecBole's USER_ID_FIELD and the others do; unnamed, RecBole's defaults user_id, item_id and,
// when the header has them, rating and timestamp (`none` leaves a role out).
Layout recbole_layout(const fs::path& path, char delimiter, const CsvColumns& columns) {
  LineReader reader(path, 1 << 16);
  std::string_view line;
  while (reader.next(line) && blank(line)) {
  }
  if (reader.line_number() == 0 || blank(line))
    fail("{}: empty file (expected a RecBole header of typed fields, such as user_id:token)",
         path.string());
  const auto fields = parse_atomic_header(line, delimiter, reader);
  Layout layout;
  layout.delimiter = std::string(1, delimiter);
  layout.fields = fields.size();
  layout.quoted = true;  // RecBole reads the files with pandas, which honours double quotes
  layout.description = "the header's fields";
  std::string all;
  for (const auto& f : fields)
    all += fmt::format("{}{}:{}", all.empty() ? "" : ", ", f.name, atomic_type_name(f.type));
  const CsvColumns csv_defaults;
  auto find = [&](const std::string& name) {
    const auto it = std::find_if(fields.begin(), fields.end(),
                                 [&](const AtomicField& f) { return f.name == name; });
    return it == fields.end() ? -1 : static_cast<int>(it - fields.begin());
  };
  auto role = [&](const std::string& given, const std::string& standard, const char* what,
                  AtomicType type, bool required) {
    const bool named = !given.empty();
    if (given == "none" && !required) return -1;
    const std::string& name = named ? given : standard;
    const int at = find(name);
    if (at < 0 && (required || named))
      fail(
          "{}:{}: no field '{}' for the {} in the header (fields: {}); map fields with "
          "`columns` user=NAME,item=NAME[,weight=NAME][,timestamp=NAME]",
          path.string(), reader.line_number(), name, what, all);
    if (at >= 0 && fields[at].type != type)
      fail("{}:{}: the {} field '{}' is {}; Polyphony reads it as {}", path.string(),
           reader.line_number(), what, name, atomic_type_name(fields[at].type),
           atomic_type_name(type));
    return at;
  };
  layout.user = role(columns.user == csv_defaults.user ? "" : columns.user, "user_id", "user",
                     AtomicType::token, true);
  layout.item = role(columns.item == csv_defaults.item ? "" : columns.item, "item_id", "item",
                     AtomicType::token, true);
  layout.weight = role(columns.weight, "rating", "weight", AtomicType::float_value, false);
  layout.timestamp =
      role(columns.timestamp, "timestamp", "timestamp", AtomicType::float_value, false);
  if (layout.weight >= 0) layout.weight_name = fields[layout.weight].name;
  return layout;
}

// A RecBole dataset: NAME.inter, or the benchmark files, each part its own file.
void read_recbole(const RecBoleFiles& files, const ReadOptions& options, InteractionLog& log) {
  const char delimiter = options.delimiter ? options.delimiter : '\t';
  std::optional<bool> weighted, timed;
  for (size_t k = 0; k < files.interactions.size(); ++k) {
    const auto& path = files.interactions[k];
    const Layout layout = recbole_layout(path, delimiter, options.columns);
    // The parts of a split are one dataset: a column in one file and not in another has no value.
    if (weighted.value_or(layout.weight >= 0) != (layout.weight >= 0) ||
        timed.value_or(layout.timestamp >= 0) != (layout.timestamp >= 0))
      fail("{}: its header's weight and timestamp fields differ from {}'s", path.string(),
           files.interactions[0].filename().string());
    weighted = layout.weight >= 0;
    timed = layout.timestamp >= 0;
    read_delimited(path, layout, Header::already_checked, {}, options, log);
    if (!files.parts.empty()) log.parts.resize(log.users.size(), files.parts[k]);
  }
}

void read_lightgcn(const fs::path& folder, InteractionLog& log) {
  const std::array<std::pair<const char*, uint8_t>, 3> files = {
      {{"train.txt", 0}, {"valid.txt", 1}, {"test.txt", 2}}};
  Layout layout;
  layout.integer_ids = true;
  for (const auto& [name, part] : files) {
    const fs::path path = folder / name;
    std::error_code ec;
    if (!fs::exists(path, ec)) continue;
    LineReader reader(path);
    std::string_view line;
    std::vector<std::string_view> tokens;
    const size_t before = log.users.size();
    while (reader.next(line)) {
      tokens.clear();
      size_t at = 0;
      while (at < line.size()) {
        const size_t start = line.find_first_not_of(" \t", at);
        if (start == std::string_view::npos) break;
        const size_t stop = std::min(line.find_first_of(" \t", start), line.size());
        tokens.push_back(line.substr(start, stop - start));
        at = stop;
      }
      if (tokens.empty()) continue;
      const int64_t user = map_id(log.user_ids, tokens[0], "user", layout, reader);
      for (size_t k = 1; k < tokens.size(); ++k) {
        log.users.push_back(user);
        log.items.push_back(map_id(log.item_ids, tokens[k], "item", layout, reader));
        log.parts.push_back(part);
        ++log.records;
      }
    }
    if (part == 0 && log.users.size() == before)
      fail("{}: no interactions (a lightgcn train.txt lists 'user item item ...' per line)",
           path.string());
    log.bytes += reader.bytes_read();
    log.files.push_back(path);
  }
}

}  // namespace

const std::vector<std::string>& interaction_formats() {
  static const std::vector<std::string> kinds = {"movielens", "ml100k", "lastfm-hetrec", "lfm",
                                                 "lightgcn",  "csv",    "recbole"};
  return kinds;
}

std::vector<fs::path> interaction_files(const std::string& kind, const fs::path& path) {
  if (kind == "movielens") return {file_in(path, "ratings.dat", kind)};
  if (kind == "ml100k") return {file_in(path, "u.data", kind)};
  if (kind == "lastfm-hetrec") return {file_in(path, "user_artists.dat", kind)};
  if (kind == "lfm" || kind == "csv") return {file_in(path, "", kind)};
  if (kind == "recbole") return recbole_files(path).interactions;
  if (kind == "lightgcn") {
    std::error_code ec;
    if (!fs::is_directory(path, ec))
      fail("{}: the lightgcn format expects a folder holding train.txt and test.txt",
           path.string());
    std::vector<fs::path> files;
    for (const char* name : {"train.txt", "valid.txt", "test.txt"}) {
      const bool required = std::string(name) != "valid.txt";
      if (fs::exists(path / name, ec))
        files.push_back(path / name);
      else if (required)
        fail("{}: no {} in this folder (expected by the lightgcn format)", path.string(), name);
    }
    return files;
  }
  std::string known;
  for (const auto& k : interaction_formats()) known += (known.empty() ? "" : ", ") + k;
  fail("`dataset`: unknown kind '{}' (available: {}, synthetic)", kind, known);
}

InteractionLog read_interactions(const std::string& kind, const fs::path& path,
                                 const ReadOptions& options) {
  const auto files = interaction_files(kind, path);
  InteractionLog log;
  if (kind == "movielens") {
    read_delimited(files[0], movielens_layout("::", "UserID::MovieID::Rating::Timestamp"),
                   Header::none, {}, options, log);
  } else if (kind == "ml100k") {
    read_delimited(files[0], movielens_layout("\t", "user id, item id, rating, timestamp"),
                   Header::none, {}, options, log);
  } else if (kind == "lastfm-hetrec") {
    read_delimited(files[0], play_count_layout("userID, artistID, weight"), Header::required,
                   {"userID", "artistID", "weight"}, options, log);
  } else if (kind == "lfm") {
    read_delimited(files[0], play_count_layout("user, item, count"),
                   Header::optional_if_not_numeric, {}, options, log);
  } else if (kind == "lightgcn") {
    if (options.min_weight)
      fail("{}: the lightgcn format has no ratings or play counts to threshold", path.string());
    read_lightgcn(path, log);
  } else if (kind == "recbole") {
    read_recbole(recbole_files(path), options, log);
  } else {
    read_csv(files[0], options, log);
  }
  if (log.users.empty())
    fail("{}: no interaction left after the minimum weight {} ({} of {} records were below it)",
         path.string(), options.min_weight.value_or(0), log.below_min_weight, log.records);
  return log;
}

}  // namespace polyphony
