#include "tools/sweep_plan.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <toml++/toml.h>

#include "common/error.h"
#include "tools/config_file.h"
#include "tools/option_spec.h"
#include "tools/toml_file.h"
#include "tools/train_options.h"

namespace polyphony::cli {
namespace {

namespace fs = std::filesystem;

// A SECTION.KEY = VALUE of the file, found under a table such as [set] or [axes].
struct Entry {
  std::string key;  // SECTION.KEY
  const toml::node* node;
  std::string where;  // FILE:LINE: TABLE.SECTION.KEY
};

// The entries of `table` in the order of the file (toml++ keeps keys sorted); dotted keys and
// subtables are joined with '.'.
void flatten(const toml::table& table, const std::string& prefix, const std::string& file,
             const std::string& table_name, std::vector<Entry>& out) {
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

std::vector<Entry> entries_of(const toml::table& table, const std::string& file,
                              const std::string& table_name) {
  std::vector<Entry> out;
  flatten(table, "", file, table_name, out);
  std::stable_sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) {
    return a.node->source().begin.line < b.node->source().begin.line;
  });
  return out;
}

// `entry` as SECTION.KEY=VALUE, checked as --set would check it.
std::string assignment(const Entry& entry, const std::string& value, cxxopts::Options& spec) {
  if (std::count(entry.key.begin(), entry.key.end(), '.') != 1)
    fail("{}: expected SECTION.KEY (such as model.dim or train.epochs)", entry.where);
  const std::string text = entry.key + "=" + value;
  try {
    setting_arguments(text, spec);
  } catch (const Error& e) {
    fail("{}: {}", entry.where, e.what());
  }
  return text;
}

struct Axis {
  std::string key;
  std::vector<std::string> values;  // as on a command line
};

Axis read_axis(const Entry& entry, cxxopts::Options& spec) {
  const auto* array = entry.node->as_array();
  if (!array || array->empty())
    fail("{}: an axis is a non-empty array of values (such as [0, 0.01, 0.1])", entry.where);
  Axis axis{entry.key, {}};
  for (const auto& element : *array) {
    const std::string value = toml_value_text(element, entry.where);
    assignment(entry, value, spec);
    if (std::find(axis.values.begin(), axis.values.end(), value) != axis.values.end())
      fail("{}: the value '{}' is listed twice", entry.where, value);
    axis.values.push_back(value);
  }
  return axis;
}

struct Variant {
  std::string name;
  fs::path base;                      // its own base config; empty: the sweep's
  std::vector<std::string> settings;  // SECTION.KEY=VALUE
  std::vector<Axis> axes;
};

// `text` (a base = "..." of `where`) as an existing config file, relative to the sweep file.
fs::path base_config(const std::string& text, const fs::path& sweep_file,
                     const std::string& where) {
  const fs::path path = fs::path(text).is_absolute()
                            ? fs::path(text)
                            : (sweep_file.parent_path() / text).lexically_normal();
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) fail("{}: no such config file: {}", where, path.string());
  return path;
}

Variant read_variant(const std::string& name, const toml::node& node, const fs::path& sweep_file,
                     cxxopts::Options& spec) {
  const std::string file = sweep_file.string();
  const auto* table = node.as_table();
  if (!table)
    fail("{}:{}: variants.{}: expected a table of settings ([variants.\"{}\"])", file,
         node.source().begin.line, name, name);
  Variant variant{name, {}, {}, {}};
  for (const auto& entry : entries_of(*table, file, "variants." + name)) {
    if (entry.key == "base") {
      const auto* base = entry.node->as_string();
      if (!base) fail("{}: expected the path of a run config", entry.where);
      variant.base = base_config(base->get(), sweep_file, entry.where);
    } else if (entry.key.rfind("axes.", 0) == 0) {
      Entry axis = entry;
      axis.key = entry.key.substr(5);
      variant.axes.push_back(read_axis(axis, spec));
    } else {
      variant.settings.push_back(
          assignment(entry, toml_value_text(*entry.node, entry.where), spec));
    }
  }
  return variant;
}

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

// The name an axis has in point ids: its key without the section, unless two axes share it.
std::string axis_label(const std::string& key, const std::vector<std::string>& all_keys) {
  const std::string short_name = key.substr(key.find('.') + 1);
  for (const auto& other : all_keys)
    if (other != key && other.substr(other.find('.') + 1) == short_name) return key;
  return short_name;
}

// The arguments of `polyphony train` for the base config and `settings`, expanded.
std::vector<std::string> expanded(const fs::path& base, const std::vector<std::string>& settings) {
  std::vector<std::string> given{"--config", base.string()};
  for (const auto& s : settings) {
    given.push_back("--set");
    given.push_back(s);
  }
  return expand_configuration(given);
}

TrainSetup read_setup(const std::vector<std::string>& arguments) {
  cxxopts::Options spec("polyphony train", "");
  add_train_options(spec);
  return read_train_setup(parse_arguments(spec, "train", arguments));
}

// The seed of a sweep that lists none: the base config's (with the settings for every point).
uint64_t configured_seed(const SweepPlan& plan, const std::vector<std::string>& settings) {
  try {
    return read_setup(expanded(plan.base, settings)).seed;
  } catch (const Error& e) {
    fail("{}: {}", plan.file.string(), e.what());
  }
}

// The arguments of one point, expanded and checked as `polyphony train` would read them.
std::vector<std::string> point_arguments(const SweepPlan& plan, const fs::path& base,
                                         const std::vector<std::string>& settings, uint64_t seed,
                                         const std::string& id) {
  std::vector<std::string> with_seed = settings;
  with_seed.push_back(fmt::format("train.seed={}", seed));
  try {
    auto arguments = expanded(base, with_seed);
    // Per-user metrics for the report's paired tests, where the protocol allows them.
    if (!sampled_negatives(read_setup(arguments).protocol)) arguments.push_back("--user-metrics");
    return arguments;
  } catch (const Error& e) {
    fail("{}: point {}: {}", plan.file.string(), id, e.what());
  }
}

}  // namespace

std::string id_text(const std::string& value) {
  std::string out = value;
  for (char& c : out)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '+' &&
        c != '-')
      c = '_';
  return out.empty() ? "_" : out;
}

SweepPlan read_sweep_plan(const fs::path& file, const std::vector<std::string>& settings) {
  SweepPlan plan;
  std::error_code ec;
  plan.file = fs::absolute(file, ec).lexically_normal();
  plan.name = file.stem().string();
  const std::string name = file.string();
  const toml::table root = read_toml_file(file, "sweep file");
  const std::vector<std::string> tables = {"sweep", "set", "axes", "variants"};
  for (const auto& [key, node] : root) {
    const std::string table(key.str());
    if (std::find(tables.begin(), tables.end(), table) == tables.end()) {
      const std::string guess = closest(table, tables);
      fail("{}:{}: unknown table '{}'{} (a sweep has [sweep], [set], [axes] and [variants.NAME])",
           name, node.source().begin.line, table,
           guess.empty() ? "" : fmt::format(" — did you mean '{}'?", guess));
    }
    if (!node.is_table())
      fail("{}:{}: '{}' must be a table ([{}])", name, node.source().begin.line, table, table);
  }
  const auto* sweep = root["sweep"].as_table();
  if (!sweep) fail("{}: no [sweep] table (it names the base config: base = \"...\")", name);
  std::vector<uint64_t> seeds;
  for (const auto& [key, node] : *sweep) {
    const std::string k(key.str());
    const std::string where = fmt::format("{}:{}: sweep.{}", name, node.source().begin.line, k);
    if (k == "base") {
      const auto* base = node.as_string();
      if (!base) fail("{}: expected the path of a run config", where);
      plan.base = base_config(base->get(), plan.file, where);
    } else if (k == "seeds") {
      seeds = read_seeds(node, where);
    } else if (k == "baseline") {
      const auto* baseline = node.as_string();
      if (!baseline) fail("{}: expected the name of a variant", where);
      plan.baseline = baseline->get();
    } else {
      const std::vector<std::string> keys = {"base", "seeds", "baseline"};
      const std::string guess = closest(k, keys);
      fail("{}: unknown key{} (keys: base, seeds, baseline)", where,
           guess.empty() ? "" : fmt::format(" — did you mean '{}'?", guess));
    }
  }
  if (plan.base.empty()) fail("{}: [sweep] has no base = \"CONFIG.toml\"", name);

  cxxopts::Options spec("polyphony train", "");
  add_train_options(spec);
  std::vector<std::string> common;
  if (const auto* set = root["set"].as_table())
    for (const auto& entry : entries_of(*set, name, "set"))
      common.push_back(assignment(entry, toml_value_text(*entry.node, entry.where), spec));
  for (const auto& s : settings) {
    try {
      setting_arguments(s, spec);
    } catch (const Error& e) {
      fail("--set {}: {}", s, e.what());
    }
    common.push_back(s);
  }
  std::vector<Axis> axes;
  if (const auto* table = root["axes"].as_table())
    for (const auto& entry : entries_of(*table, name, "axes"))
      axes.push_back(read_axis(entry, spec));
  std::vector<Variant> variants;
  if (const auto* table = root["variants"].as_table()) {
    std::vector<std::pair<int64_t, Variant>> by_line;
    for (const auto& [key, node] : *table)
      by_line.emplace_back(node.source().begin.line,
                           read_variant(std::string(key.str()), node, plan.file, spec));
    std::stable_sort(by_line.begin(), by_line.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    std::set<std::string> ids;
    for (auto& [line, variant] : by_line) {
      if (!ids.insert(id_text(variant.name)).second)
        fail("{}:{}: variant '{}' has the same folder name as another ({})", name, line,
             variant.name, id_text(variant.name));
      plan.variants.push_back(variant.name);
      variants.push_back(std::move(variant));
    }
  }
  if (!plan.baseline.empty() && plan.baseline.find('=') == std::string::npos &&
      std::find(plan.variants.begin(), plan.variants.end(), plan.baseline) == plan.variants.end())
    fail("{}: sweep.baseline '{}' is not a variant (variants: {})", name, plan.baseline,
         plan.variants.empty() ? "none" : fmt::format("{}", fmt::join(plan.variants, ", ")));
  if (variants.empty()) variants.push_back(Variant{});

  for (const auto& axis : axes) plan.axes.push_back(axis.key);
  for (const auto& variant : variants)
    for (const auto& axis : variant.axes) {
      if (std::find(plan.axes.begin(), plan.axes.end(), axis.key) != plan.axes.end() &&
          std::none_of(axes.begin(), axes.end(), [&](const Axis& a) { return a.key == axis.key; }))
        continue;  // another variant's axis of the same key
      if (std::any_of(axes.begin(), axes.end(), [&](const Axis& a) { return a.key == axis.key; }))
        fail("{}: variant '{}' has its own axis {}, which [axes] already crosses", name,
             variant.name, axis.key);
      plan.axes.push_back(axis.key);
    }

  if (seeds.empty()) seeds.push_back(configured_seed(plan, common));
  if (const auto equals = plan.baseline.find('='); equals != std::string::npos) {
    // AXIS=VALUE: an axis (by its key or its name in ids) that lists the value.
    const std::string key = plan.baseline.substr(0, equals);
    const std::string value = plan.baseline.substr(equals + 1);
    bool found = false;
    const auto check_axis = [&](const Axis& axis) {
      if (axis.key == key || axis.key.substr(axis.key.find('.') + 1) == key)
        found =
            found || std::find(axis.values.begin(), axis.values.end(), value) != axis.values.end();
    };
    for (const auto& axis : axes) check_axis(axis);
    for (const auto& variant : variants)
      for (const auto& axis : variant.axes) check_axis(axis);
    if (!found)
      fail("{}: sweep.baseline '{}': no axis {} lists the value {} (axes: {})", name, plan.baseline,
           key, value, fmt::join(plan.axes, ", "));
  }
  std::set<std::string> ids;
  for (const auto& variant : variants) {
    std::vector<Axis> crossed = axes;
    crossed.insert(crossed.end(), variant.axes.begin(), variant.axes.end());
    // Odometer over the axes' values, the last axis fastest.
    std::vector<size_t> at(crossed.size(), 0);
    for (bool more = true; more;) {
      std::vector<std::string> point_settings = common;
      point_settings.insert(point_settings.end(), variant.settings.begin(), variant.settings.end());
      std::vector<std::string> parts;
      if (!plan.variants.empty()) parts.push_back("variant=" + id_text(variant.name));
      std::vector<std::pair<std::string, std::string>> values;
      for (size_t a = 0; a < crossed.size(); ++a) {
        const std::string& value = crossed[a].values[at[a]];
        values.emplace_back(crossed[a].key, value);
        point_settings.push_back(crossed[a].key + "=" + value);
        parts.push_back(axis_label(crossed[a].key, plan.axes) + "=" + id_text(value));
      }
      const std::string group = fmt::format("{}", fmt::join(parts, ","));
      for (const uint64_t seed : seeds) {
        SweepPoint point;
        point.group = group;
        point.id = (group.empty() ? "" : group + ",") + fmt::format("seed={}", seed);
        if (!ids.insert(point.id).second)
          fail("{}: two points have the id {} (values that differ only in punctuation?)", name,
               point.id);
        point.variant = variant.name;
        point.values = values;
        point.seed = seed;
        point.arguments = point_arguments(plan, variant.base.empty() ? plan.base : variant.base,
                                          point_settings, seed, point.id);
        plan.points.push_back(std::move(point));
      }
      more = false;
      for (size_t a = crossed.size(); a-- > 0;) {
        if (++at[a] < crossed[a].values.size()) {
          more = true;
          break;
        }
        at[a] = 0;
      }
    }
  }
  plan.seeds = seeds;
  return plan;
}

}  // namespace polyphony::cli
