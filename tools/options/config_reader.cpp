#include "tools/options/config_reader.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include "common/error.h"
#include "tools/options/toml_file.h"

namespace polyphony::cli {
namespace {

ConfigSetting setting(const std::string& file, const std::string& section, const std::string& key,
                      const toml::node& node) {
  ConfigSetting out;
  out.section = section;
  out.key = key;
  out.line = node.source().begin.line;
  out.where = section.empty() ? fmt::format("{}:{}: {}", file, out.line, key)
                              : fmt::format("{}:{}: {}.{}", file, out.line, section, key);
  out.is_boolean = node.is_boolean();
  // A key above every table is refused by the caller, whatever its value.
  if (!section.empty()) out.value = toml_value_text(node, out.where);
  return out;
}

}  // namespace

ConfigContents read_config(const std::filesystem::path& file) {
  const toml::table table = read_toml_file(file, "--config");
  ConfigContents out;
  for (const auto& [section_key, section_node] : table) {
    const std::string section(section_key.str());
    const auto* entries = section_node.as_table();
    if (!entries) {  // a key outside every section
      out.settings.push_back(setting(file.string(), "", section, section_node));
      continue;
    }
    out.tables.push_back({section, section_node.source().begin.line});
    for (const auto& [key, node] : *entries)
      out.settings.push_back(setting(file.string(), section, std::string(key.str()), node));
  }
  if (out.settings.empty())
    fail(
        "{}: no settings (expected sections such as [model] and [train]); an empty config would "
        "silently train the defaults",
        file.string());
  return out;
}

}  // namespace polyphony::cli
