#pragma once
// Reading a run configuration's TOML file into settings, before anything knows what the keys
// mean: every key of every table with its value as command-line text. tools/options/config_file
// checks the settings against the options of `polyphony train`.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace polyphony::cli {

// One `key = value` of a config file.
struct ConfigSetting {
  std::string section;  // the table it is in; "" for a key above every table
  std::string key;
  std::string value;  // as on a command line: 7, 0.5, text, true, 10,10 for [10, 10]; "" for
                      // a key above every table
  bool is_boolean = false;
  int64_t line = 0;
  std::string where;  // FILE:LINE: SECTION.KEY, the start of an error about it
};

// A [section] of a config file.
struct ConfigTable {
  std::string name;
  int64_t line = 0;
};

struct ConfigContents {
  std::vector<ConfigTable> tables;      // every section, empty ones included
  std::vector<ConfigSetting> settings;  // in the order they appear
};

// What `file` holds. A file that is missing, not a regular file, not TOML, without a single
// setting, or with a value no option could take (a date, a table inside a section, an array of
// booleans) is an Error naming the file, and the line where there is one.
ConfigContents read_config(const std::filesystem::path& file);

}  // namespace polyphony::cli
