#include "tools/data_options.h"

#include <fmt/format.h>

#include "common/error.h"
#include "engine/data/line_reader.h"

namespace polyphony::cli {
namespace {

// --columns user=NAME,item=NAME[,weight=NAME][,timestamp=NAME]
CsvColumns parse_columns(const std::string& text) {
  CsvColumns c;
  size_t from = 0;
  for (;;) {
    const size_t comma = text.find(',', from);
    const std::string part =
        text.substr(from, comma == std::string::npos ? std::string::npos : comma - from);
    const auto equals = part.find('=');
    const std::string role = part.substr(0, equals);
    const std::string name = equals == std::string::npos ? "" : part.substr(equals + 1);
    if (name.empty()) fail("--columns '{}': expected ROLE=NAME pairs, found '{}'", text, part);
    if (role == "user")
      c.user = name;
    else if (role == "item")
      c.item = name;
    else if (role == "weight")
      c.weight = name;
    else if (role == "timestamp" || role == "time")
      c.timestamp = name;
    else
      fail("--columns '{}': unknown role '{}' (user, item, weight, timestamp)", text, role);
    if (comma == std::string::npos) return c;
    from = comma + 1;
  }
}

char parse_delimiter(const std::string& text) {
  if (text == "tab" || text == "\\t" || text == "\t") return '\t';
  if (text.size() == 1) return text[0];
  fail("--delimiter '{}': expected one character, or 'tab'", text);
}

}  // namespace

void add_data_options(cxxopts::Options& spec) {
  spec.add_options("data")(
      "dataset",
      "KIND:PATH with KIND movielens, ml100k, lastfm-hetrec, lfm, lightgcn or csv; or "
      "synthetic:PRESET[,KEY=VALUE...] (music-demo, music-small, lfm-2b-scale)",
      cxxopts::value<std::string>()->default_value("synthetic:music-demo"))(
      "min-rating", "keep interactions rated at least this (implicit feedback from ratings)",
      cxxopts::value<double>())("min-plays", "keep user-artist pairs played at least this often",
                                cxxopts::value<double>())(
      "columns", "csv: column names, user=NAME,item=NAME[,weight=NAME][,timestamp=NAME]",
      cxxopts::value<std::string>())("delimiter", "csv: field delimiter (default: from the header)",
                                     cxxopts::value<std::string>())(
      "min-user-interactions", "drop users with fewer interactions",
      cxxopts::value<int64_t>()->default_value("0"))("min-item-interactions",
                                                     "drop items with fewer interactions",
                                                     cxxopts::value<int64_t>()->default_value("0"))(
      "kcore", "iterative k-core: U[,I] minimum interactions per user and item, to a fixpoint",
      cxxopts::value<std::string>())(
      "split", "ratio:TRAIN,VALID | loo:last | loo:random | temporal:TRAIN,VALID | files",
      cxxopts::value<std::string>()->default_value("ratio:0.8,0.1"))(
      "item-groups", "auto | builtin | popularity:SHARE | attribute:COLUMN=V1,V2[/W1,W2] | none",
      cxxopts::value<std::string>()->default_value("auto"))(
      "item-attributes", "CSV/TSV of item attributes, first column the item id",
      cxxopts::value<std::string>())(
      "user-groups",
      "none | activity:Q | diversity:Q | attribute:COLUMN | attribute:COLUMN@C1,C2,...",
      cxxopts::value<std::string>()->default_value("none"))(
      "user-attributes", "CSV/TSV of user attributes, first column the user id",
      cxxopts::value<std::string>())(
      "cache-dir", "folder of the parsed-dataset cache (default ~/.cache/polyphony)",
      cxxopts::value<std::string>())("no-cache", "parse the files, do not read or write the cache");
}

DataSetup read_data_options(const cxxopts::ParseResult& args, uint64_t seed) {
  DataSetup s;
  s.load.dataset = args["dataset"].as<std::string>();
  if (args.count("min-rating") && args.count("min-plays"))
    fail("--min-rating and --min-plays are the same threshold; give one");
  if (args.count("min-rating")) s.load.read.min_weight = args["min-rating"].as<double>();
  if (args.count("min-plays")) s.load.read.min_weight = args["min-plays"].as<double>();
  if (args.count("columns")) s.load.read.columns = parse_columns(args["columns"].as<std::string>());
  if (args.count("delimiter"))
    s.load.read.delimiter = parse_delimiter(args["delimiter"].as<std::string>());
  s.load.filters.min_user_interactions = args["min-user-interactions"].as<int64_t>();
  s.load.filters.min_item_interactions = args["min-item-interactions"].as<int64_t>();
  for (const char* name : {"min-user-interactions", "min-item-interactions"})
    if (args[name].as<int64_t>() < 0) fail("--{} must be non-negative", name);
  if (args.count("kcore")) {
    const auto text = args["kcore"].as<std::string>();
    const auto comma = text.find(',');
    int64_t u = 0, i = 0;
    if (!parse_int64(text.substr(0, comma), u) ||
        !parse_int64(comma == std::string::npos ? text : text.substr(comma + 1), i) || u < 1 ||
        i < 1)
      fail("--kcore '{}': expected U[,I], positive integers", text);
    s.load.filters = {u, i, true};
  }
  if (!args.count("no-cache"))
    s.load.cache_dir = args.count("cache-dir")
                           ? std::filesystem::path(args["cache-dir"].as<std::string>())
                           : default_cache_dir();
  s.split = parse_split(args["split"].as<std::string>());
  s.split.seed = seed;
  s.item_groups = args["item-groups"].as<std::string>();
  s.user_groups = args["user-groups"].as<std::string>();
  if (args.count("item-attributes")) s.item_attributes = args["item-attributes"].as<std::string>();
  if (args.count("user-attributes")) s.user_attributes = args["user-attributes"].as<std::string>();
  return s;
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
           {{"spec", setup.item_groups},
            {"attribute", d.item_groups.attribute},
            {"names", d.item_groups.names},
            {"attributes_file", setup.item_attributes.string()}}},
          {"user_groups",
           {{"spec", setup.user_groups},
            {"attribute", data.user_groups.attribute},
            {"method", data.user_groups.method},
            {"names", data.user_groups.names},
            {"attributes_file", setup.user_attributes.string()}}}};
}

}  // namespace polyphony::cli
