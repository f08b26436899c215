#pragma once
// A sweep file and the runs it stands for.
//
// A sweep is a base run config (any configs/*.toml), settings for every point, named variants
// (each its own settings, and axes of its own), axes whose values are crossed, and seeds:
//
//   [sweep]
//   base = "../protomf-demo.toml"        # relative to the sweep file
//   seeds = [1, 2, 3]                    # or a count: seeds = 3 is [1, 2, 3]
//   baseline = "UI-ProtoMF"              # what `polyphony report` tests against: a variant, or
//                                        # AXIS=VALUE (resn=0: each variant against its own β=0)
//   [set]                                # every point: SECTION.KEY = VALUE, as --set
//   train.epochs = 4
//   "~data.min_rating" = true            # removes the base's setting, as --set ~data.min_rating
//   [axes]                               # crossed with each other and with every variant
//   model.ortho = [0, 0.01, 0.1]
//   model.k_filter = ["~", "8,8"]        # "~": points without the setting (id k_filter=unset)
//   [variants."UI-ProtoMF"]              # variants are not crossed with each other
//   model.name = "uiprotomf"
//   [variants."UI-ProtoMF+k-filter"]
//   axes.model.k_filter = ["8,8", "16,16"]   # an axis of this variant alone
//   [variants.LightGCN]
//   base = "../lightgcn.toml"            # a variant may start from its own config
//
// Every point also writes its test users' metrics (--user-metrics), for the report's paired
// tests.
// Every point is a `polyphony train` with explicit arguments (the base config expanded, so a
// later edit of the base shows as a changed point), checked when the sweep is read: a misspelt
// key names the sweep file and line before anything runs.

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "tools/sweep/sweep_file.h"

namespace polyphony::cli {

struct SweepPoint {
  std::string id;       // "variant=MF,ortho=0.1,seed=2": a folder name, readable and stable
  std::string group;    // the id without the seed: the points a report averages over
  std::string variant;  // "" when the sweep has no variants
  // The axes' values of this point (SECTION.KEY and the value as on a command line), in the
  // order the axes appear in the file.
  std::vector<std::pair<std::string, std::string>> values;
  uint64_t seed = 0;
  std::vector<std::string> arguments;  // of `polyphony train`, without --out
};

struct SweepPlan {
  std::filesystem::path file;  // the sweep file, absolute
  std::string name;            // its stem
  std::filesystem::path base;  // the base config, absolute
  std::string baseline;        // a variant, AXIS=VALUE, or ""
  std::vector<std::string> variants;
  std::vector<std::string> axes;  // SECTION.KEY of every axis, global ones first
  std::vector<uint64_t> seeds;
  std::vector<SweepPoint> points;  // variants, then axes (the first outermost), then seeds
};

class ConfigurationExpander;

// `setting` as --set takes it: SECTION.KEY=VALUE, or for "~SECTION.KEY" = true (a quoted key)
// the removal ~SECTION.KEY; checked, errors starting with where it is.
std::string assignment(const SweepSetting& setting);

// The setting of `key` at `value` as --set takes it: KEY=VALUE, or the removal ~KEY for the value
// "~" (an axis's or a search space's way to say "without the setting").
std::string value_setting(const std::string& key, const std::string& value);

// Every value of `axis` checked as --set would check it ("~": the removal), errors starting with
// where the axis is.
void check_axis(const SweepAxis& axis);

// The settings of every run: a file's [set], then the command line's --set (each checked).
std::vector<std::string> common_settings(const std::vector<SweepSetting>& file_settings,
                                         const std::vector<std::string>& settings);

// The arguments of `polyphony train` for `base` with `settings` and train.seed=`seed`, expanded
// and checked as `polyphony train` reads them, with --user-metrics; errors start with `context`.
std::vector<std::string> seeded_train_arguments(ConfigurationExpander& expander,
                                                const std::filesystem::path& base,
                                                const std::vector<std::string>& settings,
                                                uint64_t seed, const std::string& context);

// Reads `file` (tools/sweep/sweep_file.h) and expands it into points; `settings`
// (SECTION.KEY=VALUE, from the sweep command's --set) apply to every point after the file's [set].
// Errors name the file and line.
SweepPlan read_sweep_plan(const std::filesystem::path& file,
                          const std::vector<std::string>& settings = {});

}  // namespace polyphony::cli
