#include "engine/data/data_options.h"

#include <algorithm>
#include <functional>
#include <limits>
#include <optional>

#include <fmt/format.h>

#include "common/error.h"
#include "common/option_text.h"

namespace polyphony {
namespace {
constexpr double kInfinity = std::numeric_limits<double>::infinity();
constexpr int64_t kMinInteger = std::numeric_limits<int64_t>::min();
constexpr int64_t kMaxInteger = std::numeric_limits<int64_t>::max();
}  // namespace

DatasetSource parse_dataset(const std::string& text) {
  const OptionText spec("dataset", text,
                        "KIND:ARGUMENT, e.g. synthetic:music-demo or movielens:ml-1m/ratings.dat");
  if (spec.kind().empty() || spec.argument().empty()) spec.reject();
  DatasetSource source{spec.kind(), spec.argument(), {}};
  if (source.kind == "synthetic") source.synthetic = parse_synthetic(source.argument);
  return source;
}

SyntheticOptions parse_synthetic(const std::string& argument) {
  const OptionText spec(
      "dataset", "synthetic:" + argument,
      "synthetic:PRESET, synthetic:KEY=VALUE,... or synthetic:PRESET,KEY=VALUE,...");
  SyntheticOptions o;
  std::optional<int64_t> interactions;
  // Each key with where its value goes; ranges are checked by the generator.
  using Set = std::function<void(const std::string&)>;
  const auto integer = [&](const std::string& v) {
    return spec.integer(v, kMinInteger, kMaxInteger);
  };
  const auto real = [&](const std::string& v) { return spec.real(v, -kInfinity, kInfinity); };
  const std::vector<std::pair<std::string, Set>> keys = {
      {"users", [&](const std::string& v) { o.users = integer(v); }},
      {"items", [&](const std::string& v) { o.items = integer(v); }},
      {"interactions", [&](const std::string& v) { interactions = integer(v); }},
      {"min_items", [&](const std::string& v) { o.min_items_per_user = integer(v); }},
      {"zipf", [&](const std::string& v) { o.zipf = real(v); }},
      {"communities", [&](const std::string& v) { o.communities = integer(v); }},
      {"affinity", [&](const std::string& v) { o.community_affinity = real(v); }},
      {"majority_share", [&](const std::string& v) { o.majority_share = real(v); }},
      {"majority_boost", [&](const std::string& v) { o.majority_boost = real(v); }},
      {"unknown_share", [&](const std::string& v) { o.unknown_share = real(v); }},
      {"seed",
       [&](const std::string& v) {
         o.seed = static_cast<uint64_t>(spec.integer(v, 0, kMaxInteger));
       }},
  };
  const auto parts = spec.fields(argument, ',', 1, std::numeric_limits<size_t>::max());
  for (size_t k = 0; k < parts.size(); ++k) {
    const auto equals = parts[k].find('=');
    if (equals == std::string::npos) {
      if (k > 0) spec.reject(fmt::format("expected KEY=VALUE, found '{}'", parts[k]));
      o = synthetic_preset(parts[k]);
      continue;
    }
    const std::string key = parts[k].substr(0, equals);
    const auto match = std::find_if(keys.begin(), keys.end(),
                                    [&](const auto& entry) { return entry.first == key; });
    if (match == keys.end()) {
      std::string known;
      for (const auto& entry : keys) known += (known.empty() ? "" : ", ") + entry.first;
      spec.reject(fmt::format("unknown key '{}' (known: {})", key, known));
    }
    match->second(parts[k].substr(equals + 1));
  }
  if (interactions)
    o.mean_items_per_user =
        static_cast<double>(*interactions) / static_cast<double>(std::max<int64_t>(o.users, 1));
  return o;
}

CsvColumns parse_columns(const std::string& text) {
  const OptionText spec("columns", text,
                        "ROLE=NAME pairs: user=NAME,item=NAME[,weight=NAME][,timestamp=NAME]");
  CsvColumns c;
  for (const auto& pair : spec.fields(text, ',', 1, 4)) {
    const auto role_and_name = spec.fields(pair, '=', 2, 2);
    const std::string& role = role_and_name[0];
    const std::string& name = role_and_name[1];
    if (role == "user")
      c.user = name;
    else if (role == "item")
      c.item = name;
    else if (role == "weight")
      c.weight = name;
    else if (role == "timestamp" || role == "time")
      c.timestamp = name;
    else
      spec.reject(fmt::format("unknown role '{}' (user, item, weight, timestamp)", role));
  }
  return c;
}

char parse_delimiter(const std::string& text) {
  if (text == "tab" || text == "\\t" || text == "\t") return '\t';
  if (text.size() != 1) OptionText("delimiter", text, "one character, or tab").reject();
  return text[0];
}

ItemGroupOptions parse_item_groups(const std::string& text) {
  const OptionText spec("item_groups", text,
                        "auto, none, builtin, popularity:SHARE or attribute:COLUMN=V1,V2[/W1,W2]");
  using Kind = ItemGroupOptions::Kind;
  ItemGroupOptions o;
  if (text == "auto") return o;
  if (text == "none" || text == "builtin") {
    o.kind = text == "none" ? Kind::none : Kind::builtin;
    return o;
  }
  if (!spec.has_argument()) spec.reject();
  if (spec.kind() == "popularity") {
    o.kind = Kind::popularity;
    o.head_share = spec.real(spec.argument(), -kInfinity, kInfinity);
    return o;
  }
  if (spec.kind() != "attribute") spec.reject();
  const auto column_and_values = spec.fields(spec.argument(), '=', 2, 2);
  const auto sides = spec.fields(column_and_values[1], '/', 1, 2);
  o.kind = Kind::attribute;
  o.column = column_and_values[0];
  o.over = spec.fields(sides[0], ',', 1, std::numeric_limits<size_t>::max());
  if (sides.size() == 2)
    o.under = spec.fields(sides[1], ',', 1, std::numeric_limits<size_t>::max());
  return o;
}

UserGroupOptions parse_user_groups(const std::string& text) {
  const OptionText spec("user_groups", text,
                        "none, attribute:COLUMN, attribute:COLUMN@C1,C2,..., activity:Q or "
                        "diversity:Q (Q ≥ 1)");
  using Kind = UserGroupOptions::Kind;
  UserGroupOptions o;
  if (text == "none") return o;
  if (!spec.has_argument()) spec.reject();
  if (spec.kind() == "activity" || spec.kind() == "diversity") {
    o.kind = spec.kind() == "activity" ? Kind::activity : Kind::diversity;
    o.quantiles = spec.integer(spec.argument(), 1, kMaxInteger);
    return o;
  }
  if (spec.kind() != "attribute") spec.reject();
  o.kind = Kind::attribute;
  const auto column_and_cuts = spec.fields(spec.argument(), '@', 1, 2);
  o.column = column_and_cuts[0];
  if (column_and_cuts.size() == 2)
    for (const auto& cut :
         spec.fields(column_and_cuts[1], ',', 1, std::numeric_limits<size_t>::max()))
      o.cuts.push_back(spec.real(cut, -kInfinity, kInfinity));
  return o;
}

SplitOptions parse_split(const std::string& text) {
  const OptionText spec("split", text,
                        "ratio:TRAIN,VALID, loo:last, loo:random, temporal:TRAIN,VALID, files or "
                        "files:VALID (shares, e.g. ratio:0.8,0.1 or files:0.1)");
  SplitOptions o;
  const std::string& kind = spec.kind();
  if (kind == "ratio" || kind == "temporal") {
    if (!spec.has_argument()) spec.reject();
    const auto shares = spec.fields(spec.argument(), ',', 1, 2);
    o.kind = kind == "ratio" ? SplitOptions::Kind::ratio : SplitOptions::Kind::temporal;
    o.train = spec.real(shares[0], -kInfinity, kInfinity);
    o.valid = shares.size() == 2 ? spec.real(shares[1], -kInfinity, kInfinity) : 0;
  } else if (kind == "loo" && (spec.argument() == "last" || spec.argument() == "random")) {
    o.kind = SplitOptions::Kind::leave_one_out;
    o.latest = spec.argument() == "last";
  } else if (kind == "files") {
    // files:VALID carves a validation part out of the training file (SplitOptions::valid).
    o.kind = SplitOptions::Kind::predefined;
    o.valid = spec.has_argument() ? spec.real(spec.argument(), 0, 1) : 0;
    if (spec.has_argument() && !(o.valid > 0 && o.valid < 1)) spec.reject();
  } else {
    spec.reject();
  }
  return o;
}

SamplerOptions parse_sampler(const std::string& text) {
  const OptionText spec("sampler", text, "uniform, popularity or popularity:ALPHA with ALPHA ≥ 0");
  SamplerOptions o;
  if (text == "uniform") return o;
  if (spec.kind() != "popularity") spec.reject();
  o.popularity_exponent = spec.has_argument() ? spec.real(spec.argument(), 0, kInfinity) : 0.75;
  return o;
}

CountFilterOptions parse_kcore(const std::string& text) {
  const OptionText spec("kcore", text, "U[,I], positive integers");
  const auto counts = spec.fields(text, ',', 1, 2);
  const int64_t users = spec.integer(counts[0], 1, kMaxInteger);
  return {users, spec.integer(counts.back(), 1, kMaxInteger), /*iterate=*/true};
}

namespace {

// The threshold min_rating and min_plays both set (the names suit the formats): one of them.
void set_min_weight(DataSetup& setup, const char* name, const std::string& text) {
  double value = 0;
  if (!parse_double(text, value)) fail("`{}` '{}': expected a number", name, text);
  if (setup.load.read.min_weight)
    fail("`min_rating` and `min_plays` are the same threshold; give one (`{}` {})", name, text);
  setup.load.read.min_weight = value;
}

// Text of an option that has no default.
template <typename T>
std::optional<std::string> unset(const T&) {
  return std::nullopt;
}

}  // namespace

const std::vector<Option<DataSetup>>& data_option_list() {
  using O = OptionsOf<DataSetup>;
  Option<DataSetup> min_rating{"min_rating",
                               "keep interactions rated at least this (implicit feedback from "
                               "ratings)"};
  min_rating.set = [](DataSetup& s, const std::string& text) {
    set_min_weight(s, "min_rating", text);
  };
  Option<DataSetup> min_plays{"min_plays", "keep user-artist pairs played at least this often"};
  min_plays.set = [](DataSetup& s, const std::string& text) {
    set_min_weight(s, "min_plays", text);
  };
  // The split's text leaves its seed alone, so the two land in either order.
  Option<DataSetup> split{"split",
                          "ratio:TRAIN,VALID | loo:last | loo:random | temporal:TRAIN,VALID | "
                          "files"};
  split.default_text = SplitOptions{}.spec();
  split.set = [](DataSetup& s, const std::string& text) {
    const uint64_t seed = s.split.seed;
    s.split = parse_split(text);
    s.split.seed = seed;
  };
  split.get = [](const DataSetup& s) -> std::optional<std::string> { return s.split.spec(); };
  static const std::vector<Option<DataSetup>> options = {
      O::parsed(
          "dataset", [](auto& s) -> auto& { return s.load.source; },
          "KIND:PATH with KIND movielens, ml100k, lastfm-hetrec, lfm, lightgcn, csv or recbole; or "
          "synthetic:PRESET[,KEY=VALUE...] (music-demo, music-small, lfm-2b-scale)",
          parse_dataset,
          [](const DatasetSource& d) -> std::optional<std::string> { return d.spec(); }),
      min_rating,
      min_plays,
      O::parsed(
          "columns", [](auto& s) -> auto& { return s.load.read.columns; },
          "csv, recbole: column names, user=NAME,item=NAME[,weight=NAME][,timestamp=NAME]",
          parse_columns, unset<CsvColumns>),
      O::parsed(
          "delimiter", [](auto& s) -> auto& { return s.load.read.delimiter; },
          "csv: field delimiter (default: from the header); recbole: field_separator (default: "
          "tab)",
          parse_delimiter, unset<char>),
      O::field(
          "min_user_interactions",
          [](auto& s) -> auto& { return s.load.filters.min_user_interactions; },
          "drop users with fewer interactions", non_negative<int64_t>()),
      O::field(
          "min_item_interactions",
          [](auto& s) -> auto& { return s.load.filters.min_item_interactions; },
          "drop items with fewer interactions", non_negative<int64_t>()),
      O::parsed(
          "kcore", [](auto& s) -> auto& { return s.load.filters; },
          "iterative k-core: U[,I] minimum interactions per user and item, to a fixpoint",
          parse_kcore, unset<CountFilterOptions>),
      split,
      O::parsed("item_groups", &DataSetup::item_groups,
                "auto | builtin | popularity:SHARE | attribute:COLUMN=V1,V2[/W1,W2] | none",
                parse_item_groups,
                [](const ItemGroupOptions& g) -> std::optional<std::string> { return g.spec(); }),
      O::field("item_attributes", &DataSetup::item_attributes,
               "CSV/TSV of item attributes, first column the item id"),
      O::parsed("user_groups", &DataSetup::user_groups,
                "none | activity:Q | diversity:Q | attribute:COLUMN | attribute:COLUMN@C1,C2,...",
                parse_user_groups,
                [](const UserGroupOptions& g) -> std::optional<std::string> { return g.spec(); }),
      O::field("user_attributes", &DataSetup::user_attributes,
               "CSV/TSV of user attributes, first column the user id"),
      O::field(
          "cache_dir", [](auto& s) -> auto& { return s.load.cache_dir; },
          "folder of the parsed-dataset cache (default ~/.cache/polyphony)"),
  };
  return options;
}

const std::vector<Option<SamplerOptions>>& sampler_option_list() {
  using O = OptionsOf<SamplerOptions>;
  static const std::vector<Option<SamplerOptions>> options = {
      O::parsed(
          "sampler", [](auto& s) -> auto& { return s; },
          "negatives: uniform or popularity:ALPHA (over the user's non-training items)",
          parse_sampler,
          [](const SamplerOptions& s) -> std::optional<std::string> { return s.spec(); }),
  };
  return options;
}

}  // namespace polyphony
