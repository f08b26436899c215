#include "tools/options/data_options.h"

#include <fmt/format.h>

#include "common/error.h"
#include "tools/options/train_options.h"

namespace polyphony::cli {

void add_data_options(cxxopts::Options& spec) { add_option_rows(spec, /*data_only=*/true); }

DataSetup read_data_options(const cxxopts::ParseResult& args, uint64_t seed) {
  TrainSetup setup;
  land_option_rows(setup, args, /*data_only=*/true);
  setup.data.split.seed = seed;
  return setup.data;
}

void print_data_summary(const PreparedData& data, const DataSetup& setup) {
  const Dataset& d = data.dataset;
  fmt::print("dataset {}: {}; kept {} users, {} items, {} interactions (cache: {})\n", d.source,
             data.report.summary(), d.num_users, d.num_items, d.interactions.size(), data.cache);
  fmt::print("split {} (seed {}): {} train, {} valid, {} test", setup.split.spec(),
             setup.split.seed, data.split.train.size(), data.split.valid.size(),
             data.split.test.size());
  if (data.split.dropped)
    fmt::print(", {} held-out interactions of users with no training data dropped",
               data.split.dropped);
  fmt::print("\n");
  // Where the validation part of predefined files came from, if any: it decides whether an
  // epoch can be chosen at all.
  if (setup.split.kind != SplitOptions::Kind::predefined && d.predefined_part.defined())
    fmt::print(
        "note: {}'s files define a split, which --split {} does not use (--split files does)\n",
        d.source, setup.split.spec());
  if (setup.split.kind == SplitOptions::Kind::predefined) {
    if (setup.split.valid > 0)
      fmt::print("validation: {} of each user's training interactions, carved out with seed {}\n",
                 setup.split.valid, setup.split.seed);
    else if (data.split.valid.size() > 0)
      fmt::print("validation: the folder's own validation file\n");
    else
      fmt::print(
          "validation: none (the folder has no validation file): --monitor and --patience have "
          "nothing to select an epoch on, and the last epoch is reported; --split files:0.1 "
          "carves a validation part out of the training file\n");
  }
  if (!d.item_groups.names.empty()) {
    std::string names;
    for (const auto& n : d.item_groups.names) names += (names.empty() ? "" : ", ") + n;
    fmt::print("item groups by {}: {}\n", d.item_groups.attribute, names);
  }
  if (!data.user_groups.names.empty())
    fmt::print("user groups by {} ({}): {} groups\n", data.user_groups.attribute,
               data.user_groups.method, data.user_groups.names.size());
}

nlohmann::json data_config(const PreparedData& data, const DataSetup& setup) {
  const Dataset& d = data.dataset;
  const auto& r = setup.load.read;
  nlohmann::json read = {{"columns",
                          {{"user", r.columns.user},
                           {"item", r.columns.item},
                           {"weight", r.columns.weight},
                           {"timestamp", r.columns.timestamp}}},
                         {"delimiter", r.delimiter ? std::string(1, r.delimiter) : "auto"}};
  read["min_weight"] = r.min_weight ? nlohmann::json(*r.min_weight) : nlohmann::json(nullptr);
  return {{"spec", d.source},
          {"read", read},
          {"filters",
           {{"min_user_interactions", setup.load.filters.min_user_interactions},
            {"min_item_interactions", setup.load.filters.min_item_interactions},
            {"iterate_to_kcore", setup.load.filters.iterate}}},
          {"records_read", data.report.records},
          {"below_min_weight", data.report.below_min_weight},
          {"duplicates_merged", data.report.duplicates},
          {"removed_by_count_filters", data.report.removed_by_counts},
          {"users", d.num_users},
          {"items", d.num_items},
          {"interactions", d.interactions.size()},
          {"cache", data.cache},
          {"split",
           {{"spec", setup.split.spec()},
            {"seed", setup.split.seed},
            {"train", data.split.train.size()},
            {"valid", data.split.valid.size()},
            {"test", data.split.test.size()},
            {"dropped", data.split.dropped},
            {"fingerprint", fmt::format("{:016x}", data.split.fingerprint)}}},
          {"item_groups",
           {{"spec", setup.item_groups.spec()},
            {"attribute", d.item_groups.attribute},
            {"names", d.item_groups.names},
            {"attributes_file", data.item_attributes.string()}}},
          {"user_groups",
           {{"spec", setup.user_groups.spec()},
            {"attribute", data.user_groups.attribute},
            {"method", data.user_groups.method},
            {"names", data.user_groups.names},
            {"attributes_file", data.user_attributes.string()}}}};
}

}  // namespace polyphony::cli
