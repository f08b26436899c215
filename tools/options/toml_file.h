#pragma once
// Reading a TOML file (run configs, sweep files) with errors that name the file and line.

#include <filesystem>
#include <string>

#include <toml++/toml.h>

namespace polyphony::cli {

// The table `file` holds. A missing file, one that is not a regular file or cannot be read, or
// text that is not TOML is an Error naming `option` (the flag or argument that gave the file),
// the file and, where there is one, the line and column.
toml::table read_toml_file(const std::filesystem::path& file, const std::string& option);

// A value as command-line text: 7, 0.5, text, true, and an array of numbers or strings joined by
// commas ([10, 10] -> 10,10). Anything else is an Error starting with `where`.
std::string toml_value_text(const toml::node& node, const std::string& where);

}  // namespace polyphony::cli
