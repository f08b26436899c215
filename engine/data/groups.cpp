#include "engine/data/groups.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <limits>
#include <map>
#include <set>

#include <fmt/format.h>

#include "analysis/truncated_svd.h"
#include "common/error.h"
#include "engine/data/attributes.h"
#include "engine/data/line_reader.h"

namespace polyphony {
namespace {

std::vector<std::string> split_list(const std::string& text, char separator) {
  std::vector<std::string> parts;
  size_t from = 0;
  for (;;) {
    const size_t hit = text.find(separator, from);
    parts.push_back(text.substr(from, hit == std::string::npos ? std::string::npos : hit - from));
    if (hit == std::string::npos) return parts;
    from = hit + 1;
  }
}

std::string join(const std::vector<std::string>& parts, const char* separator) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : separator) + p;
  return out;
}

std::pair<std::string, std::string> kind_and_argument(const std::string& spec) {
  const auto colon = spec.find(':');
  if (colon == std::string::npos) return {spec, ""};
  return {spec.substr(0, colon), spec.substr(colon + 1)};
}

void need_attributes(const std::filesystem::path& file, const char* option,
                     const std::string& spec) {
  if (file.empty())
    fail("{} '{}' needs an attribute file ({}-attributes FILE)", option, spec, option);
}

int64_t positive_integer(const std::string& text, const std::string& option,
                         const std::string& spec) {
  int64_t value = 0;
  if (!parse_int64(text, value) || value < 1)
    fail("{} '{}': '{}' is not a positive integer", option, spec, text);
  return value;
}

at::Tensor to_tensor(const std::vector<int64_t>& values) {
  return at::tensor(at::ArrayRef<int64_t>(values), at::kLong);
}

}  // namespace

at::Tensor head_items(const at::Tensor& popularity, double share) {
  const auto sorted = popularity.to(at::kDouble).sort(0, /*descending=*/true);
  const auto& values = std::get<0>(sorted);
  const auto before = values.cumsum(0) - values;
  const double total = values.sum().item<double>();
  auto head = at::zeros({popularity.numel()}, popularity.options().dtype(at::kBool));
  if (total > 0) head.index_put_({std::get<1>(sorted)}, before < share * total);
  return head;
}

at::Tensor quantile_groups(const at::Tensor& score, int64_t quantiles) {
  const int64_t n = score.numel();
  const auto order =
      std::get<1>(score.to(at::kDouble).sort(/*stable=*/std::optional<bool>(true), 0));
  auto rank = at::empty({n}, at::kLong).index_put_({order}, at::arange(n, at::kLong));
  return n ? at::div(rank * quantiles, n, "floor") : rank;
}

ItemGroups make_item_groups(const std::string& spec, const Dataset& d, const Interactions& train,
                            const std::filesystem::path& attributes) {
  const auto [kind, argument] = kind_and_argument(spec);
  ItemGroups g;
  if (spec == "none") return g;
  if (spec == "builtin") {
    if (!d.item_groups.group_of_item.defined())
      fail("--item-groups builtin: {} has no built-in item groups (only synthetic data does)",
           d.source);
    return d.item_groups;
  }
  if (kind == "popularity") {
    double share = 0;
    if (!parse_double(argument, share) || !(share > 0 && share < 1))
      fail("--item-groups '{}': expected popularity:SHARE with SHARE in (0, 1)", spec);
    const auto head = head_items(at::bincount(train.items, {}, d.num_items), share);
    g.attribute =
        fmt::format("popularity (head holds {:g}% of training interactions)", share * 100);
    g.names = {"head", "tail"};
    g.group_of_item = at::logical_not(head).to(at::kLong);
    g.over = 0;
    g.under = 1;
    return g;
  }
  const auto equals = argument.find('=');
  if (kind != "attribute" || equals == std::string::npos || equals == 0 ||
      equals + 1 == argument.size())
    fail(
        "--item-groups '{}': expected attribute:COLUMN=V1,V2[/W1,W2], popularity:SHARE, builtin "
        "or none",
        spec);
  need_attributes(attributes, "--item", spec);
  const std::string column = argument.substr(0, equals);
  const auto sides = split_list(argument.substr(equals + 1), '/');
  if (sides.size() > 2)
    fail("--item-groups '{}': at most one '/' between the two value lists", spec);
  const auto over = split_list(sides[0], ',');
  const auto under = sides.size() == 2 ? split_list(sides[1], ',') : std::vector<std::string>{};
  const std::set<std::string> over_set(over.begin(), over.end()),
      under_set(under.begin(), under.end());
  for (const auto& v : under)
    if (over_set.count(v)) fail("--item-groups '{}': '{}' is on both sides", spec, v);

  const auto values = read_attribute_column(attributes, column, d.item_ids);
  g.attribute = column;
  const int64_t kOver = 0, kUnder = 1;
  int64_t other = -1, unknown = 2;
  if (under.empty()) {
    g.names = {join(over, "+"), "non-" + join(over, "+"), "unknown"};
  } else {
    g.names = {join(over, "+"), join(under, "+"), "other", "unknown"};
    other = 2;
    unknown = 3;
  }
  std::vector<int64_t> group(values.size());
  for (size_t k = 0; k < values.size(); ++k) {
    const auto& v = values[k];
    if (v.empty())
      group[k] = unknown;
    else if (over_set.count(v))
      group[k] = kOver;
    else if (under.empty() || under_set.count(v))
      group[k] = kUnder;
    else
      group[k] = other;
  }
  g.group_of_item = to_tensor(group);
  g.over = kOver;
  g.under = kUnder;
  return g;
}

at::Tensor interest_diversity(const Interactions& train, int64_t num_users, int64_t num_items) {
  const auto e = truncated_svd_item_embeddings(train.users, train.items, num_users, num_items, {});
  const auto norm = e.norm(2, {1});
  const auto unit = e / norm.clamp_min(1e-300).unsqueeze(1);  // zero rows stay zero
  const auto users = train.users.to(at::kCPU), items = train.items.to(at::kCPU);
  auto sum = at::zeros({num_users, e.size(1)}, at::kDouble)
                 .index_add_(0, users, unit.index_select(0, items));
  auto count = at::zeros({num_users}, at::kDouble)
                   .index_add_(0, users, (norm > 0).to(at::kDouble).index_select(0, items));
  auto diversity = 1.0 - (sum / count.clamp_min(1).unsqueeze(1)).norm(2, {1});
  return at::where(count > 0, diversity,
                   at::full_like(diversity, std::numeric_limits<double>::quiet_NaN()));
}

UserGroups make_user_groups(const std::string& spec, const Dataset& d, const Interactions& train,
                            const std::filesystem::path& attributes) {
  const auto [kind, argument] = kind_and_argument(spec);
  UserGroups g;
  if (spec == "none") return g;
  if (kind == "activity") {
    const int64_t q = positive_integer(argument, "--user-groups", spec);
    g.attribute = "activity";
    g.method = fmt::format("{} quantiles of training interactions per user (Q1 least active)", q);
    g.group_of_user = quantile_groups(at::bincount(train.users, {}, d.num_users), q);
    for (int64_t k = 1; k <= q; ++k) g.names.push_back(fmt::format("Q{}", k));
    return g;
  }
  if (kind == "diversity") {
    const int64_t q = positive_integer(argument, "--user-groups", spec);
    const auto diversity = interest_diversity(train, d.num_users, d.num_items);
    const auto known = at::logical_not(at::isnan(diversity));
    g.attribute = "interest diversity";
    g.method = fmt::format(
        "{} quantiles of 1 − ‖mean unit item vector‖, truncated-SVD PPMI item embeddings (Q1 least "
        "diverse)",
        q);
    g.group_of_user = at::full({d.num_users}, q, at::kLong);  // q: "unknown"
    g.group_of_user.index_put_({known}, quantile_groups(diversity.index({known}), q));
    for (int64_t k = 1; k <= q; ++k) g.names.push_back(fmt::format("Q{}", k));
    g.names.push_back("unknown");
    return g;
  }
  if (kind != "attribute" || argument.empty() || argument[0] == '@')
    fail(
        "--user-groups '{}': expected attribute:COLUMN, attribute:COLUMN@C1,C2,..., activity:Q, "
        "diversity:Q or none",
        spec);
  need_attributes(attributes, "--user", spec);
  const auto at_sign = argument.find('@');
  const std::string column = argument.substr(0, at_sign);
  const auto values = read_attribute_column(attributes, column, d.user_ids);
  g.attribute = column;
  std::vector<int64_t> group(values.size());
  if (at_sign == std::string::npos) {
    g.method = "one group per value";
    std::map<std::string, int64_t> index;
    for (const auto& v : values)
      if (!v.empty()) index.emplace(v, 0);
    for (auto& [value, k] : index) {
      k = static_cast<int64_t>(g.names.size());
      g.names.push_back(value);
    }
    const auto unknown = static_cast<int64_t>(g.names.size());
    g.names.push_back("unknown");
    for (size_t k = 0; k < values.size(); ++k)
      group[k] = values[k].empty() ? unknown : index.at(values[k]);
  } else {
    std::vector<double> cuts;
    for (const auto& text : split_list(argument.substr(at_sign + 1), ',')) {
      double c = 0;
      if (!parse_double(text, c))
        fail("--user-groups '{}': cut point '{}' is not a number", spec, text);
      if (!cuts.empty() && c <= cuts.back())
        fail("--user-groups '{}': cut points must increase", spec);
      cuts.push_back(c);
    }
    g.method = "numeric bins";
    g.names.push_back(fmt::format("<{:g}", cuts.front()));
    for (size_t k = 0; k + 1 < cuts.size(); ++k)
      g.names.push_back(fmt::format("[{:g},{:g})", cuts[k], cuts[k + 1]));
    g.names.push_back(fmt::format(">={:g}", cuts.back()));
    const auto unknown = static_cast<int64_t>(g.names.size());
    g.names.push_back("unknown");
    for (size_t k = 0; k < values.size(); ++k) {
      double v = 0;
      if (values[k].empty()) {
        group[k] = unknown;
      } else if (!parse_double(values[k], v)) {
        fail("{}: {} '{}' of user '{}' is not a number (binned by --user-groups {})",
             attributes.string(), column, values[k], d.user_ids[k], spec);
      } else {
        group[k] = std::upper_bound(cuts.begin(), cuts.end(), v) - cuts.begin();
      }
    }
  }
  g.group_of_user = to_tensor(group);
  return g;
}

}  // namespace polyphony
