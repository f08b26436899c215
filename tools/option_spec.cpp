#include "tools/option_spec.h"

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
  if (!parse_double(field, value) || value < low || value > high || (open_low && value == low))
    reject();
  return value;
}

int64_t OptionSpec::integer(const std::string& field, int64_t low, int64_t high) const {
  int64_t value = 0;
  if (!parse_int64(field, value) || value < low || value > high) reject();
  return value;
}

void OptionSpec::reject() const { fail("{} '{}': expected {}", option_, text_, expected_); }

namespace {
constexpr double kInfinity = std::numeric_limits<double>::infinity();
constexpr int64_t kMaxInteger = std::numeric_limits<int64_t>::max();
}  // namespace

SplitOptions parse_split(const std::string& text) {
  const OptionSpec spec("--split", text,
                        "ratio:TRAIN,VALID, loo:last, loo:random, temporal:TRAIN,VALID or files "
                        "(shares, e.g. ratio:0.8,0.1)");
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
  } else if (text == "files") {
    o.kind = SplitOptions::Kind::predefined;
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
