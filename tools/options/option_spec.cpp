#include "tools/options/option_spec.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

#include <fmt/format.h>

#include "common/error.h"
#include "engine/data/line_reader.h"

namespace polyphony::cli {

OptionSpec::OptionSpec(std::string option, std::string text, std::string expected)
    : option_(std::move(option)), text_(std::move(text)), expected_(std::move(expected)) {
  const auto colon = text_.find(':');
  has_argument_ = colon != std::string::npos;
  kind_ = text_.substr(0, colon);
  if (has_argument_) argument_ = text_.substr(colon + 1);
}

std::vector<std::string> OptionSpec::fields(const std::string& text, char separator,
                                            size_t min_count, size_t max_count) const {
  std::vector<std::string> out;
  for (size_t from = 0;;) {
    const size_t at = text.find(separator, from);
    out.push_back(text.substr(from, at == std::string::npos ? std::string::npos : at - from));
    if (out.back().empty()) reject();
    if (at == std::string::npos) break;
    from = at + 1;
  }
  if (out.size() < min_count || out.size() > max_count) reject();
  return out;
}

double OptionSpec::real(const std::string& field, double low, double high, bool open_low) const {
  double value = 0;
  if (!parse_double(field, value) || std::isnan(value) || value < low || value > high ||
      (open_low && value == low))
    reject();
  return value;
}

int64_t OptionSpec::integer(const std::string& field, int64_t low, int64_t high) const {
  int64_t value = 0;
  if (!parse_int64(field, value) || value < low || value > high) reject();
  return value;
}

void OptionSpec::reject() const { fail("{} '{}': expected {}", option_, text_, expected_); }

void OptionSpec::reject(const std::string& why) const { fail("{} '{}': {}", option_, text_, why); }

namespace {
constexpr double kInfinity = std::numeric_limits<double>::infinity();
constexpr int64_t kMinInteger = std::numeric_limits<int64_t>::min();
constexpr int64_t kMaxInteger = std::numeric_limits<int64_t>::max();
}  // namespace

DatasetSource parse_dataset(const std::string& text) {
  const OptionSpec spec("--dataset", text,
                        "KIND:ARGUMENT, e.g. synthetic:music-demo or movielens:ml-1m/ratings.dat");
  if (spec.kind().empty() || spec.argument().empty()) spec.reject();
  DatasetSource source{spec.kind(), spec.argument(), {}};
  if (source.kind == "synthetic") source.synthetic = parse_synthetic(source.argument);
  return source;
}

SyntheticOptions parse_synthetic(const std::string& argument) {
  const OptionSpec spec(
      "--dataset", "synthetic:" + argument,
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
  const OptionSpec spec("--columns", text,
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
  if (text.size() != 1) OptionSpec("--delimiter", text, "one character, or tab").reject();
  return text[0];
}

ItemGroupOptions parse_item_groups(const std::string& text) {
  const OptionSpec spec("--item-groups", text,
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
  const OptionSpec spec("--user-groups", text,
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
  const OptionSpec spec("--split", text,
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
  const OptionSpec spec("--sampler", text,
                        "uniform, popularity or popularity:ALPHA with ALPHA ≥ 0");
  SamplerOptions o;
  if (text == "uniform") return o;
  if (spec.kind() != "popularity") spec.reject();
  o.popularity_exponent = spec.has_argument() ? spec.real(spec.argument(), 0, kInfinity) : 0.75;
  return o;
}

LossReduction parse_loss_reduction(const std::string& text) {
  if (text == "mean") return LossReduction::kMean;
  if (text == "sum") return LossReduction::kSum;
  OptionSpec("--loss-reduction", text, "mean or sum").reject();
}

CudaGraphMode parse_cuda_graph(const std::string& text) {
  if (const auto mode = parse_cuda_graph_mode(text)) return *mode;
  OptionSpec("--cuda-graph", text, "auto, on or off").reject();
}

EmbeddingUpdates parse_embedding_updates(const std::string& text) {
  if (text == "dense") return EmbeddingUpdates::kDense;
  if (text == "sparse") return EmbeddingUpdates::kRowSparse;
  if (text == "auto") return EmbeddingUpdates::kAuto;
  OptionSpec("--embedding-updates", text, "auto, dense or sparse").reject();
}

std::string embedding_updates_name(EmbeddingUpdates updates) {
  switch (updates) {
    case EmbeddingUpdates::kDense:
      return "dense";
    case EmbeddingUpdates::kRowSparse:
      return "sparse";
    case EmbeddingUpdates::kAuto:
      break;
  }
  return "auto";
}

LearningRateSchedule parse_schedule(const std::string& text) {
  const OptionSpec spec("--lr-schedule", text,
                        "constant, cosine or step:EPOCHS:GAMMA (e.g. step:10:0.5, EPOCHS ≥ 1, "
                        "GAMMA > 0)");
  LearningRateSchedule s;
  if (text == "constant") return s;
  if (text == "cosine") {
    s.kind = ScheduleKind::kCosine;
    return s;
  }
  if (spec.kind() != "step" || !spec.has_argument()) spec.reject();
  const auto fields = spec.fields(spec.argument(), ':', 2, 2);
  s.kind = ScheduleKind::kStep;
  s.step_epochs = spec.integer(fields[0], 1, kMaxInteger);
  s.gamma = spec.real(fields[1], 0, kInfinity, /*open_low=*/true);
  return s;
}

std::optional<int64_t> sampled_negatives(const std::string& protocol) {
  const OptionSpec spec("--eval-protocol", protocol,
                        "full or sampled:N with N ≥ 1, e.g. sampled:99");
  if (protocol == "full") return std::nullopt;
  if (spec.kind() != "sampled" || !spec.has_argument()) spec.reject();
  return spec.integer(spec.argument(), 1, kMaxInteger);
}

std::pair<HeadRule, double> parse_head(const std::string& text) {
  const OptionSpec spec("--head", text,
                        "interactions:SHARE (the most popular items holding SHARE of the training "
                        "interactions) or items:FRACTION (the most popular FRACTION of the items), "
                        "in (0, 1]");
  if (!spec.has_argument() || (spec.kind() != "interactions" && spec.kind() != "items"))
    spec.reject();
  const double share = spec.real(spec.argument(), 0, 1, /*open_low=*/true);
  return {spec.kind() == "items" ? HeadRule::kItemShare : HeadRule::kInteractionShare, share};
}

CountFilterOptions parse_kcore(const std::string& text) {
  const OptionSpec spec("--kcore", text, "U[,I], positive integers");
  const auto counts = spec.fields(text, ',', 1, 2);
  const int64_t users = spec.integer(counts[0], 1, kMaxInteger);
  return {users, spec.integer(counts.back(), 1, kMaxInteger), /*iterate=*/true};
}

std::pair<int64_t, int64_t> parse_k_filter(const std::string& text) {
  const OptionSpec spec("--k-filter", text, "KU[,KT], integers (-1: off)");
  const auto ks = spec.fields(text, ',', 1, 2);
  const int64_t users = spec.integer(ks[0], std::numeric_limits<int64_t>::min(), kMaxInteger);
  return {users, spec.integer(ks.back(), std::numeric_limits<int64_t>::min(), kMaxInteger)};
}

}  // namespace polyphony::cli
