#include "tools/sweep/sweep_plan.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/error.h"
#include "engine/data/data_options.h"
#include "engine/eval/evaluator_options.h"
#include "tools/options/config_file.h"
#include "tools/options/train_options.h"

namespace polyphony::cli {
namespace {

namespace fs = std::filesystem;

// Checks `text` as --set would: SECTION.KEY=VALUE, or the removal ~SECTION.KEY.
void check_setting(const std::string& text) {
  if (!is_removal(text)) {
    setting_arguments(text);
    return;
  }
  std::vector<std::string> none;
  remove_setting(text, none);
}

// A variant's settings as SECTION.KEY=VALUE (an empty variant stands for a sweep without any).
struct Variant {
  std::string name;
  fs::path base;
  std::vector<std::string> settings;
  std::vector<SweepAxis> axes;
};

// The name an axis has in point ids: its key without the section, unless two axes share it.
std::string axis_label(const std::string& key, const std::vector<std::string>& all_keys) {
  const std::string short_name = key.substr(key.find('.') + 1);
  for (const auto& other : all_keys)
    if (other != key && other.substr(other.find('.') + 1) == short_name) return key;
  return short_name;
}

// The arguments of `polyphony train` for the base config and `settings`, expanded.
std::vector<std::string> expanded(ConfigurationExpander& expander, const fs::path& base,
                                  const std::vector<std::string>& settings) {
  std::vector<std::string> given{"--config", base.string()};
  for (const auto& s : settings) {
    given.push_back("--set");
    given.push_back(s);
  }
  return expander.expand(given);
}

// The seed of a sweep that lists none: the base config's (with the settings for every point).
uint64_t configured_seed(ConfigurationExpander& expander, const SweepPlan& plan,
                         const std::vector<std::string>& settings) {
  try {
    return expander.read_setup(expanded(expander, plan.base, settings)).seed;
  } catch (const Error& e) {
    fail("{}: {}", plan.file.string(), e.what());
  }
}

std::vector<std::string> point_arguments(ConfigurationExpander& expander, const SweepPlan& plan,
                                         const fs::path& base,
                                         const std::vector<std::string>& settings, uint64_t seed,
                                         const std::string& id) {
  return seeded_train_arguments(expander, base, settings, seed,
                                fmt::format("{}: point {}", plan.file.string(), id));
}

// The file's variants with their settings and axes checked (one variant of no settings when it
// has none); every axis key joins the plan's columns once.
std::vector<Variant> checked_variants(const SweepFile& f, SweepPlan& plan) {
  for (const auto& axis : f.axes) {
    check_axis(axis);
    plan.axes.push_back(axis.key);
  }
  std::vector<Variant> variants;
  for (const auto& v : f.variants) {
    Variant variant{v.name, v.base, {}, v.axes};
    for (const auto& setting : v.settings) variant.settings.push_back(assignment(setting));
    for (const auto& axis : v.axes) {
      check_axis(axis);
      // Another variant may have an axis of the same key: one column of the plan.
      if (std::find(plan.axes.begin(), plan.axes.end(), axis.key) == plan.axes.end())
        plan.axes.push_back(axis.key);
    }
    plan.variants.push_back(v.name);
    variants.push_back(std::move(variant));
  }
  if (variants.empty()) variants.push_back(Variant{});
  return variants;
}

// What one variant adds to a plan: a point per combination of its axes' values (the file's axes
// crossed with its own) and per seed.
class VariantPoints {
 public:
  // `file_name`: the sweep file as the user named it, for messages.
  VariantPoints(std::string file_name, ConfigurationExpander& expander, SweepPlan& plan,
                const std::vector<std::string>& common, const std::vector<uint64_t>& seeds)
      : file_name_(std::move(file_name)),
        expander_(expander),
        plan_(plan),
        common_(common),
        seeds_(seeds) {}

  void add(const Variant& variant, const std::vector<SweepAxis>& file_axes) {
    std::vector<SweepAxis> crossed = file_axes;
    crossed.insert(crossed.end(), variant.axes.begin(), variant.axes.end());
    // Odometer over the axes' values, the last axis fastest.
    std::vector<size_t> at(crossed.size(), 0);
    do {
      add_combination(variant, crossed, at);
    } while (advance(crossed, at));
  }

 private:
  static bool advance(const std::vector<SweepAxis>& crossed, std::vector<size_t>& at) {
    for (size_t a = crossed.size(); a-- > 0;) {
      if (++at[a] < crossed[a].values.size()) return true;
      at[a] = 0;
    }
    return false;
  }

  void add_combination(const Variant& variant, const std::vector<SweepAxis>& crossed,
                       const std::vector<size_t>& at) {
    std::vector<std::string> point_settings = common_;
    point_settings.insert(point_settings.end(), variant.settings.begin(), variant.settings.end());
    std::vector<std::string> parts;
    if (!plan_.variants.empty()) parts.push_back("variant=" + id_text(variant.name));
    std::vector<std::pair<std::string, std::string>> values;
    for (size_t a = 0; a < crossed.size(); ++a) {
      const std::string& value = crossed[a].values[at[a]];
      values.emplace_back(crossed[a].key, value);
      point_settings.push_back(value_setting(crossed[a].key, value));
      parts.push_back(axis_label(crossed[a].key, plan_.axes) + "=" +
                      (value == "~" ? "unset" : id_text(value)));
    }
    const std::string group = fmt::format("{}", fmt::join(parts, ","));
    for (const uint64_t seed : seeds_) {
      SweepPoint point;
      point.group = group;
      point.id = (group.empty() ? "" : group + ",") + fmt::format("seed={}", seed);
      if (!ids_.insert(point.id).second)
        fail("{}: two points have the id {} (values that differ only in punctuation?)", file_name_,
             point.id);
      point.variant = variant.name;
      point.values = values;
      point.seed = seed;
      point.arguments =
          point_arguments(expander_, plan_, variant.base.empty() ? plan_.base : variant.base,
                          point_settings, seed, point.id);
      plan_.points.push_back(std::move(point));
    }
  }

  const std::string file_name_;
  ConfigurationExpander& expander_;
  SweepPlan& plan_;
  std::set<std::string> ids_;
  const std::vector<std::string>& common_;
  const std::vector<uint64_t>& seeds_;
};

}  // namespace

std::string value_setting(const std::string& key, const std::string& value) {
  return value == "~" ? "~" + key : key + "=" + value;
}

void check_axis(const SweepAxis& axis) {
  for (const auto& value : axis.values)
    assignment(value == "~" ? SweepSetting{"~" + axis.key, "true", axis.where}
                            : SweepSetting{axis.key, value, axis.where});
}

std::string assignment(const SweepSetting& setting) {
  const bool removal = is_removal(setting.key);
  if (removal && setting.value != "true")
    fail("{}: a removal is written \"~SECTION.KEY\" = true", setting.where);
  if (std::count(setting.key.begin(), setting.key.end(), '.') != 1)
    fail("{}: expected SECTION.KEY (such as model.dim or train.epochs)", setting.where);
  const std::string text = removal ? setting.key : setting.key + "=" + setting.value;
  try {
    check_setting(text);
  } catch (const Error& e) {
    fail("{}: {}", setting.where, e.what());
  }
  return text;
}

std::vector<std::string> common_settings(const std::vector<SweepSetting>& file_settings,
                                         const std::vector<std::string>& settings) {
  std::vector<std::string> common;
  for (const auto& setting : file_settings) common.push_back(assignment(setting));
  for (const auto& s : settings) {
    try {
      check_setting(s);
    } catch (const Error& e) {
      fail("--set {}: {}", s, e.what());
    }
    common.push_back(s);
  }
  return common;
}

std::vector<std::string> seeded_train_arguments(ConfigurationExpander& expander,
                                                const fs::path& base,
                                                const std::vector<std::string>& settings,
                                                uint64_t seed, const std::string& context) {
  std::vector<std::string> with_seed = settings;
  with_seed.push_back(fmt::format("train.seed={}", seed));
  try {
    auto arguments = expanded(expander, base, with_seed);
    expander.read_setup(arguments);         // checked as `polyphony train` reads them
    arguments.push_back("--user-metrics");  // per-user metrics for the report's paired tests
    return arguments;
  } catch (const Error& e) {
    fail("{}: {}", context, e.what());
  }
}

SweepPlan read_sweep_plan(const fs::path& file, const std::vector<std::string>& settings) {
  const SweepFile f = read_sweep_file(file);
  SweepPlan plan;
  plan.file = f.file;
  plan.name = f.name;
  plan.base = f.base;
  plan.baseline = f.baseline;

  ConfigurationExpander expander;
  const std::vector<std::string> common = common_settings(f.settings, settings);
  const std::vector<Variant> variants = checked_variants(f, plan);
  plan.seeds =
      f.seeds.empty() ? std::vector<uint64_t>{configured_seed(expander, plan, common)} : f.seeds;
  VariantPoints points(file.string(), expander, plan, common, plan.seeds);
  for (const auto& variant : variants) points.add(variant, f.axes);
  return plan;
}

}  // namespace polyphony::cli
