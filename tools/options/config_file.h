#pragma once
// Run configurations as TOML files, and --set SECTION.KEY=VALUE on the command line.
//
// A config has the sections [data], [model], [train], [eval] and [run]; their keys are the
// options of `polyphony train` (`batch_size` or `batch-size`), and [model] also takes the model's
// own options (`user_prototypes = 71`, as --set model.user_prototypes=71). A file becomes
// command-line arguments placed before the command line's own, so the command line wins; the
// parser of `polyphony train` then reads both alike. Unknown sections and keys are errors with a
// "did you mean" suggestion; a value of the wrong type is an error naming the key.

#include <filesystem>
#include <string>
#include <vector>

#include <cxxopts.hpp>
#include <nlohmann/json.hpp>

namespace polyphony::cli {

// Each section and the options it holds.
struct ConfigSection {
  const char* name;
  std::vector<std::string> options;
};
const std::vector<ConfigSection>& config_sections();

// The arguments that `file` stands for. Each value is checked by its option, so a bad one is an
// error naming the file, the line and the key.
std::vector<std::string> config_file_arguments(const std::filesystem::path& file);

// The arguments that --set SECTION.KEY=VALUE stands for (model keys that are not options stay
// model settings).
std::vector<std::string> setting_arguments(const std::string& assignment);

// --set ~SECTION.KEY (a removal): the setting goes back to its default, whatever a config file
// or an earlier setting gave it. Removes the arguments for SECTION.KEY from `arguments` (those of
// config_file_arguments or setting_arguments); an unknown key is an Error.
bool is_removal(const std::string& setting);
void remove_setting(const std::string& removal, std::vector<std::string>& arguments);

// The resolved options of a parsed command line as a TOML config that reproduces the run.
std::string resolved_config_toml(const cxxopts::ParseResult& args);
// The same as JSON: an object per section, typed values.
nlohmann::json resolved_config_json(const cxxopts::ParseResult& args);
// The same, one line per section, for the log.
std::string resolved_config_lines(const cxxopts::ParseResult& args);

}  // namespace polyphony::cli
