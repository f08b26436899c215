#pragma once
// A sweep file as written, before anything knows what its settings mean: the [sweep] table, the
// settings for every point ([set]), the axes and the variants, each value as command-line text
// with the file and line it came from. tools/sweep/sweep_plan checks the settings as `polyphony
// train` reads them and expands the points (tools/sweep/sweep_plan.h shows the format).

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <toml++/toml.h>

namespace polyphony::cli {

// The most points a sweep file may plan (variants × axes' values × seeds): each is a training
// run and a folder, and a grid beyond this is better split or searched.
inline constexpr size_t kMaxSweepPoints = 10000;

// KEY = VALUE of a table: KEY as written (SECTION.KEY when well formed), VALUE as command-line
// text (7, 0.5, text, true, 10,10 for [10, 10]).
struct SweepSetting {
  std::string key, value;
  std::string where;  // FILE:LINE: TABLE.KEY, the start of an error about it
};

struct SweepAxis {
  std::string key;
  std::vector<std::string> values;  // distinct, at least one
  std::string where;
};

struct SweepVariant {
  std::string name;
  std::filesystem::path base;  // its own base config; empty: the sweep's
  std::vector<SweepSetting> settings;
  std::vector<SweepAxis> axes;  // its own, crossed with the sweep's
};

struct SweepFile {
  std::filesystem::path file;   // absolute
  std::string name;             // its stem
  std::filesystem::path base;   // the base config, absolute
  std::vector<uint64_t> seeds;  // empty: the base config's seed
  std::string baseline;         // a variant, AXIS=VALUE, or ""
  std::vector<SweepSetting> settings;
  std::vector<SweepAxis> axes;
  std::vector<SweepVariant> variants;  // in the file's order
};

// Reads `file`. A file that is not TOML, an unknown table or key, a value no option could take,
// an axis without values or with one twice, a variant without a folder name of its own, a
// baseline that names nothing, a base config that does not exist, or more than kMaxSweepPoints
// points is an Error naming the file and, where there is one, the line.
SweepFile read_sweep_file(const std::filesystem::path& file);

// The parts of a sweep file that tune files (tools/tune/tune_file.h) read alike.

// A KEY = VALUE found under a table such as [set] or [axes].
struct TomlEntry {
  std::string key;  // dotted keys and subtables joined with '.'
  const toml::node* node;
  std::string where;  // FILE:LINE: TABLE.KEY
};

// The entries of `table` in the order of the file (toml++ keeps keys sorted); dotted keys and
// subtables are joined with '.'. `table_name` and `file` make each entry's `where`.
std::vector<TomlEntry> table_entries(const toml::table& table, const std::string& file,
                                     const std::string& table_name);

// An entry as a setting: its value as command-line text (an Error naming it when no option
// could take it).
SweepSetting setting_of(const TomlEntry& entry);

// An axis: a non-empty array of distinct values.
SweepAxis read_axis(const TomlEntry& entry);

// `text` (a base = "..." of `where`) as an existing config file, relative to `study_file`.
std::filesystem::path base_config(const std::string& text, const std::filesystem::path& study_file,
                                  const std::string& where);

// Refuses a top-level key of `root` that is not one of `tables` (suggesting the closest, and
// saying `expected`, such as "a sweep has [sweep], [set], [axes] and [variants.NAME]"), or that
// is not a table.
void check_tables(const toml::table& root, const std::string& file,
                  const std::vector<std::string>& tables, const std::string& expected);

// seeds = N (1..N) or a list of distinct non-negative seeds.
std::vector<uint64_t> read_seeds(const toml::node& node, const std::string& where);

// The part of an id that names a value: letters, digits and . _ + - kept, anything else '_'
// ("16,16" -> "16_16").
std::string id_text(const std::string& value);

}  // namespace polyphony::cli
