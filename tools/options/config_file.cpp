#include "tools/options/config_file.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <toml++/toml.h>

#include "common/error.h"
#include "engine/data/line_reader.h"
#include "tools/options/closest_word.h"
#include "tools/options/config_reader.h"
#include "tools/options/train_options.h"

namespace polyphony::cli {
namespace {

std::string underscored(std::string key) {
  std::replace(key.begin(), key.end(), '-', '_');
  return key;
}

const ConfigSection* find_section(const std::string& name) {
  for (const auto& s : config_sections())
    if (name == s.name) return &s;
  return nullptr;
}

std::vector<std::string> section_names() {
  std::vector<std::string> names;
  for (const auto& s : config_sections()) names.emplace_back(s.name);
  return names;
}

// Options whose presence is the value (true: given, false: left out).
bool is_flag(const std::string& option) {
  const TrainOption* row = find_train_option(option);
  return row && row->type == OptionType::kFlag;
}

// Checks that `value` is acceptable for --option, as the option reads it alone; an error names
// `where` (file:line: section.key, or the --set).
void check_value(const std::string& option, const std::string& value, const std::string& where) {
  const TrainOption* row = find_train_option(option);
  if (!row) return;
  try {
    check_option_value(*row, value);
  } catch (const Error& e) {
    fail("{}: {}", where, e.what());
  }
}

[[noreturn]] void fail_unknown_section(const std::string& name, const std::string& where) {
  const std::string guess = closest(name, section_names());
  fail("{}: unknown section '{}'{} (sections: {})", where, name,
       guess.empty() ? "" : fmt::format(" — did you mean '{}'?", guess),
       fmt::join(section_names(), ", "));
}

// The option SECTION.KEY stands for: its flag's name ("model" for model.name), or "" for a
// model's own option (a model setting). An unknown section or key is an Error naming `where`.
std::string option_of(const std::string& section_name, const std::string& key,
                      const std::string& where) {
  const ConfigSection* section = find_section(section_name);
  if (!section) fail_unknown_section(section_name, where);
  std::string option = dashed_name(key);
  if (section_name == std::string("model") && option == "name") option = "model";
  const auto& known = section->options;
  if (std::find(known.begin(), known.end(), option) != known.end()) return option;
  if (section_name == std::string("model")) return "";  // the model's own, checked by the model
  std::string hint;
  for (const auto& other : config_sections())
    if (std::find(other.options.begin(), other.options.end(), option) != other.options.end())
      hint = fmt::format(" — it belongs in [{}]", other.name);
  if (hint.empty()) {
    std::vector<std::string> keys;
    for (const auto& o : known) keys.push_back(underscored(o));
    const std::string guess = closest(underscored(key), keys);
    if (!guess.empty()) hint = fmt::format(" — did you mean '{}'?", guess);
  }
  fail("{}: unknown key '{}' in [{}]{}", where, key, section_name, hint);
}

// The arguments for SECTION.KEY = VALUE (VALUE already text); `where` names it in errors.
void add_setting(const std::string& section_name, const std::string& key, const std::string& value,
                 const std::string& where, std::vector<std::string>& out) {
  const std::string option = option_of(section_name, key, where);
  if (option.empty()) {
    // Every model option takes one value; cxxopts would cut a list into bogus settings.
    if (value.find(',') != std::string::npos)
      fail("{}: model option '{}' takes one value, not a list ('{}')", where, key, value);
    out.push_back("--set");
    out.push_back(fmt::format("model.{}={}", underscored(key), value));
    return;
  }
  if (is_flag(option)) {
    // Only true or false: "yes" or "maybe" must not quietly read as false.
    if (value != "true" && value != "false")
      fail("{}: expected true or false (got '{}')", where, value);
    if (value == "true") out.push_back("--" + option);
    return;
  }
  check_value(option, value, where);
  out.push_back("--" + option);
  out.push_back(value);
}

}  // namespace

const std::vector<ConfigSection>& config_sections() {
  static const std::vector<ConfigSection> sections = [] {
    std::vector<ConfigSection> out = {
        {"data", {}}, {"model", {}}, {"train", {}}, {"eval", {}}, {"run", {}}};
    for (const auto& row : train_option_table())
      for (auto& section : out)
        if (section.name == std::string(row.section)) section.options.push_back(row.name);
    return out;
  }();
  return sections;
}

std::vector<std::string> config_file_arguments(const std::filesystem::path& file) {
  const ConfigContents contents = read_config(file);
  // An empty section is checked too: a misspelt [trian] must not pass for want of keys.
  for (const auto& table : contents.tables)
    if (!find_section(table.name))
      fail_unknown_section(table.name, fmt::format("{}:{}", file.string(), table.line));
  std::vector<std::string> out;
  for (const auto& s : contents.settings) {
    if (s.section.empty()) {
      std::string hint;
      for (const auto& section : config_sections())
        if (std::find(section.options.begin(), section.options.end(), dashed_name(s.key)) !=
            section.options.end())
          hint = fmt::format(" — it belongs in [{}]", section.name);
      fail("{}:{}: '{}' must be inside a section ([data], [model], [train], [eval], [run]){}",
           file.string(), s.line, s.key, hint);
    }
    // true/false switches a flag; any other option (model options aside) needs a value.
    if (s.is_boolean && s.section != "model" && !is_flag(dashed_name(s.key)) &&
        find_section(s.section))
      fail("{}: expected a value, not true/false", s.where);
    add_setting(s.section, s.key, s.value, s.where, out);
  }
  return out;
}

std::vector<std::string> setting_arguments(const std::string& assignment) {
  const auto equals = assignment.find('=');
  const auto dot = assignment.find('.');
  if (equals == std::string::npos || dot == std::string::npos || dot > equals || dot == 0 ||
      dot + 1 == equals)
    fail("--set '{}': expected SECTION.KEY=VALUE, e.g. train.epochs=50 or model.dim=32",
         assignment);
  const std::string section = assignment.substr(0, dot);
  const std::string key = assignment.substr(dot + 1, equals - dot - 1);
  const std::string value = assignment.substr(equals + 1);
  std::vector<std::string> out;
  add_setting(section, key, value, fmt::format("--set '{}'", assignment), out);
  return out;
}

bool is_removal(const std::string& setting) { return !setting.empty() && setting[0] == '~'; }

void remove_setting(const std::string& removal, std::vector<std::string>& arguments) {
  const auto dot = removal.find('.');
  if (!is_removal(removal) || dot == std::string::npos || dot == 1 || dot + 1 == removal.size() ||
      removal.find('=') != std::string::npos)
    fail("--set '{}': expected ~SECTION.KEY (such as ~data.min_rating) to remove a setting",
         removal);
  const std::string section = removal.substr(1, dot - 1);
  const std::string key = removal.substr(dot + 1);
  const std::string option = option_of(section, key, fmt::format("--set '{}'", removal));
  const std::string model_prefix = "model." + underscored(key) + "=";
  std::vector<std::string> kept;
  for (size_t i = 0; i < arguments.size(); ++i) {
    const std::string& a = arguments[i];
    if (option.empty()) {  // a model setting: --set model.KEY=VALUE
      if (a == "--set" && i + 1 < arguments.size() &&
          arguments[i + 1].rfind(model_prefix, 0) == 0) {
        ++i;
        continue;
      }
    } else if (a == "--" + option) {
      if (!is_flag(option)) ++i;  // and its value
      continue;
    } else if (a.rfind("--" + option + "=", 0) == 0) {
      continue;
    }
    kept.push_back(a);
  }
  arguments = std::move(kept);
}

namespace {

toml::table resolved_table(const cxxopts::ParseResult& args) {
  // Raw text of every option: its default, replaced by the value given.
  std::map<std::string, std::string> given;
  for (const auto& kv : args.defaults()) given[kv.key()] = kv.value();
  for (const auto& kv : args.arguments()) given[kv.key()] = kv.value();
  auto insert_typed = [](toml::table& entries, const std::string& key, const std::string& text) {
    int64_t integer = 0;
    double real = 0;
    if (parse_int64(text, integer)) {
      entries.insert(key, integer);
    } else if (parse_double(text, real)) {
      entries.insert(key, real);
    } else {
      entries.insert(key, text);
    }
  };
  toml::table root;
  for (const auto& section : config_sections()) {
    toml::table entries;
    for (const auto& option : section.options) {
      const std::string key = underscored(option == "model" ? "name" : option);
      if (is_flag(option)) {
        entries.insert(key, args.count(option) > 0);
      } else if (const auto it = given.find(option); it != given.end()) {
        insert_typed(entries, key, it->second);
      }
    }
    if (section.name == std::string("model") && args.count("set"))
      for (const auto& assignment : args["set"].as<std::vector<std::string>>()) {
        const std::string prefix = "model.";
        const auto equals = assignment.find('=');
        if (assignment.rfind(prefix, 0) == 0 && equals != std::string::npos)
          insert_typed(entries, assignment.substr(prefix.size(), equals - prefix.size()),
                       assignment.substr(equals + 1));
      }
    root.insert(section.name, std::move(entries));
  }
  return root;
}

}  // namespace

std::string resolved_config_toml(const cxxopts::ParseResult& args) {
  std::ostringstream out;
  out << toml::toml_formatter(resolved_table(args));
  return out.str() + "\n";
}

namespace {

// An entry of the resolved table as JSON.
nlohmann::json json_of(const toml::node& value) {
  if (const auto* i = value.as_integer()) return i->get();
  if (const auto* f = value.as_floating_point()) return f->get();
  if (const auto* b = value.as_boolean()) return b->get();
  if (const auto* text = value.as_string()) return text->get();
  return nullptr;
}

}  // namespace

nlohmann::json resolved_config_json(const cxxopts::ParseResult& args) {
  nlohmann::json out = nlohmann::json::object();
  const auto root = resolved_table(args);
  for (const auto& section : config_sections()) {
    auto& entries = out[section.name] = nlohmann::json::object();
    for (const auto& [key, value] : *root[section.name].as_table())
      entries[std::string(key.str())] = json_of(value);
  }
  return out;
}

std::string resolved_config_lines(const cxxopts::ParseResult& args) {
  std::string lines;
  const auto config = resolved_config_json(args);
  for (const auto& section : config_sections()) {
    lines += fmt::format("  [{}]", section.name);
    for (const auto& [key, value] : config.at(section.name).items())
      lines +=
          fmt::format(" {}={}", key, value.is_string() ? value.get<std::string>() : value.dump());
    lines += "\n";
  }
  return lines;
}

}  // namespace polyphony::cli
