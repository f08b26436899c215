#include "tools/sweep/sweep_file.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <toml++/toml.h>

#include "common/error.h"
#include "tools/options/closest_word.h"
#include "tools/options/toml_file.h"

namespace polyphony::cli {
namespace {

namespace fs = std::filesystem;

// The entries of `table`; dotted keys and subtables are joined with '.'.
void flatten(const toml::table& table, const std::string& prefix, const std::string& file,
             const std::string& table_name, std::vector<TomlEntry>& out) {
  for (const auto& [key, node] : table) {
    const std::string name =
        prefix.empty() ? std::string(key.str()) : prefix + "." + std::string(key.str());
    if (const auto* inner = node.as_table()) {
      flatten(*inner, name, file, table_name, out);
      continue;
    }
    out.push_back({name, &node,
                   fmt::format("{}:{}: {}.{}", file, node.source().begin.line, table_name, name)});
  }
}

}  // namespace

std::vector<TomlEntry> table_entries(const toml::table& table, const std::string& file,
                                     const std::string& table_name) {
  std::vector<TomlEntry> out;
  flatten(table, "", file, table_name, out);
  std::stable_sort(out.begin(), out.end(), [](const TomlEntry& a, const TomlEntry& b) {
    return a.node->source().begin.line < b.node->source().begin.line;
  });
  return out;
}

SweepSetting setting_of(const TomlEntry& entry) {
  return {entry.key, toml_value_text(*entry.node, entry.where), entry.where};
}

SweepAxis read_axis(const TomlEntry& entry) {
  if (!entry.key.empty() && entry.key[0] == '~')
    fail("{}: an axis has no removal form; list the value \"~\" for points without the setting",
         entry.where);
  const auto* array = entry.node->as_array();
  if (!array || array->empty())
    fail("{}: an axis is a non-empty array of values (such as [0, 0.01, 0.1])", entry.where);
  SweepAxis axis{entry.key, {}, entry.where};
  for (const auto& element : *array) {
    const std::string value = toml_value_text(element, entry.where);
    if (std::find(axis.values.begin(), axis.values.end(), value) != axis.values.end())
      fail("{}: the value '{}' is listed twice", entry.where, value);
    axis.values.push_back(value);
  }
  return axis;
}

fs::path base_config(const std::string& text, const fs::path& sweep_file,
                     const std::string& where) {
  const fs::path path = fs::path(text).is_absolute()
                            ? fs::path(text)
                            : (sweep_file.parent_path() / text).lexically_normal();
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) fail("{}: no such config file: {}", where, path.string());
  return path;
}

namespace {

SweepVariant read_variant(const std::string& name, const toml::node& node,
                          const fs::path& sweep_file) {
  const std::string file = sweep_file.string();
  const auto* table = node.as_table();
  if (!table)
    fail("{}:{}: variants.{}: expected a table of settings ([variants.\"{}\"])", file,
         node.source().begin.line, name, name);
  SweepVariant variant{name, {}, {}, {}};
  for (const auto& entry : table_entries(*table, file, "variants." + name)) {
    if (entry.key == "base") {
      const auto* base = entry.node->as_string();
      if (!base) fail("{}: expected the path of a run config", entry.where);
      variant.base = base_config(base->get(), sweep_file, entry.where);
    } else if (entry.key.rfind("axes.", 0) == 0) {
      TomlEntry axis = entry;
      axis.key = entry.key.substr(5);
      variant.axes.push_back(read_axis(axis));
    } else {
      variant.settings.push_back(setting_of(entry));
    }
  }
  return variant;
}

}  // namespace

std::vector<uint64_t> read_seeds(const toml::node& node, const std::string& where) {
  std::vector<uint64_t> seeds;
  if (const auto* count = node.as_integer()) {
    if (count->get() < 1 || count->get() > 1000)
      fail("{}: a count of seeds from 1 to 1000, or a list of seeds", where);
    for (int64_t s = 1; s <= count->get(); ++s) seeds.push_back(static_cast<uint64_t>(s));
    return seeds;
  }
  const auto* array = node.as_array();
  if (!array || array->empty()) fail("{}: expected a count or a non-empty list of seeds", where);
  for (const auto& element : *array) {
    const auto* seed = element.as_integer();
    if (!seed || seed->get() < 0) fail("{}: seeds are non-negative integers", where);
    if (std::find(seeds.begin(), seeds.end(), static_cast<uint64_t>(seed->get())) != seeds.end())
      fail("{}: seed {} is listed twice", where, seed->get());
    seeds.push_back(static_cast<uint64_t>(seed->get()));
  }
  return seeds;
}

namespace {

// The [sweep] table: base, seeds, baseline.
void read_sweep_table(const toml::table& sweep, SweepFile& out) {
  const std::string name = out.file.string();
  for (const auto& [key, node] : sweep) {
    const std::string k(key.str());
    const std::string where = fmt::format("{}:{}: sweep.{}", name, node.source().begin.line, k);
    if (k == "base") {
      const auto* base = node.as_string();
      if (!base) fail("{}: expected the path of a run config", where);
      out.base = base_config(base->get(), out.file, where);
    } else if (k == "seeds") {
      out.seeds = read_seeds(node, where);
    } else if (k == "baseline") {
      const auto* baseline = node.as_string();
      if (!baseline) fail("{}: expected the name of a variant", where);
      out.baseline = baseline->get();
    } else {
      const std::vector<std::string> keys = {"base", "seeds", "baseline"};
      const std::string guess = closest(k, keys);
      fail("{}: unknown key{} (keys: base, seeds, baseline)", where,
           guess.empty() ? "" : fmt::format(" — did you mean '{}'?", guess));
    }
  }
  if (out.base.empty()) fail("{}: [sweep] has no base = \"CONFIG.toml\"", name);
}

// The variants in the order of the file, each with a folder name of its own.
void read_variants(const toml::table& table, SweepFile& out) {
  std::vector<std::pair<int64_t, SweepVariant>> by_line;
  for (const auto& [key, node] : table)
    by_line.emplace_back(node.source().begin.line,
                         read_variant(std::string(key.str()), node, out.file));
  std::stable_sort(by_line.begin(), by_line.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::set<std::string> ids;
  for (auto& [line, variant] : by_line) {
    if (!ids.insert(id_text(variant.name)).second)
      fail("{}:{}: variant '{}' has the same folder name as another ({})", out.file.string(), line,
           variant.name, id_text(variant.name));
    out.variants.push_back(std::move(variant));
  }
}

bool is_axis_of(const SweepAxis& axis, const std::string& key) {
  return axis.key == key || axis.key.substr(axis.key.find('.') + 1) == key;
}

// A variant's own axis must not be one that [axes] already crosses; the baseline must name a
// variant, or an axis's value.
void check_axes_and_baseline(const SweepFile& f) {
  const std::string name = f.file.string();
  for (const auto& variant : f.variants)
    for (const auto& axis : variant.axes)
      if (std::any_of(f.axes.begin(), f.axes.end(),
                      [&](const SweepAxis& a) { return a.key == axis.key; }))
        fail("{}: variant '{}' has its own axis {}, which [axes] already crosses", name,
             variant.name, axis.key);
  const auto equals = f.baseline.find('=');
  if (f.baseline.empty()) return;
  if (equals == std::string::npos) {
    if (std::none_of(f.variants.begin(), f.variants.end(),
                     [&](const SweepVariant& v) { return v.name == f.baseline; })) {
      std::vector<std::string> names;
      for (const auto& v : f.variants) names.push_back(v.name);
      fail("{}: sweep.baseline '{}' is not a variant (variants: {})", name, f.baseline,
           names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", ")));
    }
    return;
  }
  // AXIS=VALUE: an axis (by its key or its name in ids) that lists the value.
  const std::string key = f.baseline.substr(0, equals);
  const std::string value = f.baseline.substr(equals + 1);
  std::vector<std::string> keys;
  bool found = false;
  const auto check_axis = [&](const SweepAxis& axis) {
    keys.push_back(axis.key);
    found = found || (is_axis_of(axis, key) && std::find(axis.values.begin(), axis.values.end(),
                                                         value) != axis.values.end());
  };
  for (const auto& axis : f.axes) check_axis(axis);
  for (const auto& variant : f.variants)
    for (const auto& axis : variant.axes) check_axis(axis);
  if (!found)
    fail("{}: sweep.baseline '{}': no axis {} lists the value {} (axes: {})", name, f.baseline, key,
         value, fmt::join(keys, ", "));
}

// Refuses, before any point is expanded, a sweep of more than kMaxSweepPoints points, naming
// the factors that multiply up to it.
void check_point_count(const SweepFile& f) {
  const size_t seeds = std::max<size_t>(1, f.seeds.size());
  const size_t variants = std::max<size_t>(1, f.variants.size());
  double total = 0;  // a double: the product of many axes can overflow any integer
  for (size_t v = 0; v < variants; ++v) {
    double points = static_cast<double>(seeds);
    for (const auto& axis : f.axes) points *= static_cast<double>(axis.values.size());
    if (v < f.variants.size())
      for (const auto& axis : f.variants[v].axes) points *= static_cast<double>(axis.values.size());
    total += points;
  }
  if (total <= static_cast<double>(kMaxSweepPoints)) return;
  std::vector<std::string> factors;
  for (const auto& axis : f.axes)
    factors.push_back(fmt::format("{} ({} values)", axis.key, axis.values.size()));
  for (const auto& variant : f.variants)
    for (const auto& axis : variant.axes)
      factors.push_back(
          fmt::format("{} of variant {} ({} values)", axis.key, variant.name, axis.values.size()));
  if (variants > 1) factors.push_back(fmt::format("{} variants", variants));
  factors.push_back(fmt::format("{} seed{}", seeds, seeds == 1 ? "" : "s"));
  fail(
      "{}: {:.0f} points ({}) are more than a sweep plans ({}); split it into several sweep "
      "files, or use fewer values per axis",
      f.file.string(), total, fmt::join(factors, " × "), kMaxSweepPoints);
}

}  // namespace

void check_tables(const toml::table& root, const std::string& file,
                  const std::vector<std::string>& tables, const std::string& expected) {
  for (const auto& [key, node] : root) {
    const std::string table(key.str());
    if (std::find(tables.begin(), tables.end(), table) == tables.end()) {
      const std::string guess = closest(table, tables);
      fail("{}:{}: unknown table '{}'{} ({})", file, node.source().begin.line, table,
           guess.empty() ? "" : fmt::format(" — did you mean '{}'?", guess), expected);
    }
    if (!node.is_table())
      fail("{}:{}: '{}' must be a table ([{}])", file, node.source().begin.line, table, table);
  }
}

std::string id_text(const std::string& value) {
  std::string out = value;
  for (char& c : out)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '+' &&
        c != '-')
      c = '_';
  return out.empty() ? "_" : out;
}

SweepFile read_sweep_file(const fs::path& file) {
  SweepFile out;
  std::error_code ec;
  out.file = fs::absolute(file, ec).lexically_normal();
  out.name = file.stem().string();
  const std::string name = file.string();
  const toml::table root = read_toml_file(file, "sweep file");
  check_tables(root, name, {"sweep", "set", "axes", "variants"},
               "a sweep has [sweep], [set], [axes] and [variants.NAME]");
  const auto* sweep = root["sweep"].as_table();
  if (!sweep) fail("{}: no [sweep] table (it names the base config: base = \"...\")", name);
  read_sweep_table(*sweep, out);
  if (const auto* set = root["set"].as_table())
    for (const auto& entry : table_entries(*set, name, "set"))
      out.settings.push_back(setting_of(entry));
  if (const auto* axes = root["axes"].as_table())
    for (const auto& entry : table_entries(*axes, name, "axes"))
      out.axes.push_back(read_axis(entry));
  if (const auto* variants = root["variants"].as_table()) read_variants(*variants, out);
  check_axes_and_baseline(out);
  check_point_count(out);
  return out;
}

}  // namespace polyphony::cli
