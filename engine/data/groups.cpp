#include "engine/data/groups.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "analysis/truncated_svd.h"
#include "common/error.h"
#include "engine/data/attributes.h"
#include "engine/data/line_reader.h"

namespace polyphony {
namespace {

std::string join(const std::vector<std::string>& parts, const char* separator) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : separator) + p;
  return out;
}

void need_attributes(const std::filesystem::path& file, const char* setting,
                     const std::string& spec) {
  if (file.empty())
    fail("`{}_groups` '{}' needs an attribute file (`{}_attributes`)", setting, spec, setting);
}

at::Tensor to_tensor(const std::vector<int64_t>& values) {
  return at::tensor(at::ArrayRef<int64_t>(values), at::kLong);
}

// The indices of the over- and under-represented item groups (head and tail for popularity).
constexpr int64_t kOver = 0, kUnder = 1;

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

at::Tensor most_popular_items(const at::Tensor& popularity, double fraction) {
  const int64_t n = popularity.numel();
  const auto count = static_cast<int64_t>(std::ceil(fraction * static_cast<double>(n) - 1e-9));
  // A stable descending sort keeps tied items in index order, so the lower index wins.
  const auto order =
      std::get<1>(popularity.to(at::kDouble)
                      .sort(
                          /*stable=*/std::optional<bool>(true), 0, /*descending=*/true));
  auto head = at::zeros({n}, popularity.options().dtype(at::kBool));
  head.index_put_({order.slice(0, 0, std::clamp<int64_t>(count, 0, n))}, true);
  return head;
}

at::Tensor quantile_groups(const at::Tensor& score, int64_t quantiles) {
  const int64_t n = score.numel();
  const auto order =
      std::get<1>(score.to(at::kDouble).sort(/*stable=*/std::optional<bool>(true), 0));
  auto rank = at::empty({n}, at::kLong).index_put_({order}, at::arange(n, at::kLong));
  return n ? at::div(rank * quantiles, n, "floor") : rank;
}

std::string ItemGroupOptions::spec() const {
  switch (kind) {
    case Kind::automatic:
      return "auto";
    case Kind::none:
      return "none";
    case Kind::builtin:
      return "builtin";
    case Kind::popularity:
      return fmt::format("popularity:{}", head_share);
    case Kind::attribute:
      return fmt::format("attribute:{}={}{}{}", column, join(over, ","), under.empty() ? "" : "/",
                         join(under, ","));
  }
  return "";
}

namespace {

// Head (the most popular items holding `share` of the training interactions) against tail.
ItemGroups popularity_item_groups(const ItemGroupOptions& o, double share, const Dataset& d,
                                  const Interactions& train) {
  if (!(share > 0 && share < 1))
    fail("`item_groups` '{}': the head share must lie in (0, 1)", o.spec());
  const auto head = head_items(at::bincount(train.items, {}, d.num_items), share);
  ItemGroups g;
  g.attribute = fmt::format("popularity (head holds {:g}% of training interactions)", share * 100);
  g.names = {"head", "tail"};
  g.group_of_item = at::logical_not(head).to(at::kLong);
  g.over = kOver;
  g.under = kUnder;
  return g;
}

// Groups no item falls into give a gap of NaN: refused, naming the value or the file.
void check_item_groups_present(const ItemGroupOptions& o, const std::vector<int64_t>& group,
                               int64_t unknown, const std::filesystem::path& attributes) {
  if (std::all_of(group.begin(), group.end(), [&](int64_t k) { return k == unknown; }))
    fail("{}: no item of the dataset has a value in column '{}' (`item_groups` '{}')",
         attributes.string(), o.column, o.spec());
  for (const auto& [side, values] : {std::pair{kOver, &o.over}, std::pair{kUnder, &o.under}})
    if (!values->empty() && std::find(group.begin(), group.end(), side) == group.end())
      fail("{}: no item has {} {} in column '{}' (`item_groups` '{}')", attributes.string(),
           values->size() == 1 ? "the value" : "any of the values", join(*values, ", "), o.column,
           o.spec());
}

// Calls visit(value) for each value of an attribute written V1|V2|... (one without a bar: itself).
template <typename Visit>
void for_each_value(const std::string& values, Visit&& visit) {
  for (size_t from = 0; from <= values.size();) {
    const size_t bar = std::min(values.find('|', from), values.size());
    visit(values.substr(from, bar - from));
    from = bar + 1;
  }
}

// The listed values of `o` (over's, then under's) and the items that carry each: an item's value
// is one of them, or several written V1|V2 (an item of two countries counts for both).
void set_listed_values(const ItemGroupOptions& o, const std::vector<std::string>& item_values,
                       ItemGroups& g) {
  g.values = o.over;
  g.values.insert(g.values.end(), o.under.begin(), o.under.end());
  g.over_values = static_cast<int64_t>(o.over.size());
  const auto num_values = static_cast<int64_t>(g.values.size());
  g.value_of_item = at::zeros({static_cast<int64_t>(item_values.size()), num_values}, at::kDouble);
  auto member = g.value_of_item.accessor<double, 2>();
  for (size_t k = 0; k < item_values.size(); ++k)
    for_each_value(item_values[k], [&](const std::string& value) {
      const auto listed = std::find(g.values.begin(), g.values.end(), value);
      if (listed != g.values.end()) member[k][listed - g.values.begin()] = 1;
    });
}

// The items whose attribute is one of `o.over` against those with one of `o.under` (or any
// other value when `o.under` is empty); "other" and "unknown" besides.
ItemGroups attribute_item_groups(const ItemGroupOptions& o, const Dataset& d,
                                 const std::filesystem::path& attributes) {
  need_attributes(attributes, "item", o.spec());
  if (o.column.empty() || o.over.empty())
    fail("`item_groups` '{}': needs a column and at least one value", o.spec());
  const std::set<std::string> over_set(o.over.begin(), o.over.end()),
      under_set(o.under.begin(), o.under.end());
  for (const auto& v : o.under)
    if (over_set.count(v)) fail("`item_groups` '{}': '{}' is on both sides", o.spec(), v);

  const auto values = read_attribute_column(attributes, o.column, d.item_ids);
  ItemGroups g;
  g.attribute = o.column;
  int64_t other = -1, unknown = 2;
  if (o.under.empty()) {
    g.names = {join(o.over, "+"), "non-" + join(o.over, "+"), "unknown"};
  } else {
    g.names = {join(o.over, "+"), join(o.under, "+"), "other", "unknown"};
    other = 2;
    unknown = 3;
  }
  std::vector<int64_t> group(values.size());
  for (size_t k = 0; k < values.size(); ++k) {
    // Several values (V1|V2, a RecBole sequence): the side one of them is listed on, when none
    // is listed on the other side; "other" when both are, or neither is.
    bool any_over = false, any_under = false;
    for_each_value(values[k], [&](const std::string& v) {
      any_over |= over_set.count(v) > 0;
      any_under |= under_set.count(v) > 0;
    });
    if (values[k].empty())
      group[k] = unknown;
    else if (any_over && !any_under)
      group[k] = kOver;
    else if (o.under.empty() || (any_under && !any_over))
      group[k] = kUnder;
    else
      group[k] = other;
  }
  check_item_groups_present(o, group, unknown, attributes);
  g.group_of_item = to_tensor(group);
  g.over = kOver;
  g.under = kUnder;
  if (!o.under.empty()) set_listed_values(o, values, g);
  return g;
}

}  // namespace

ItemGroups make_item_groups(const ItemGroupOptions& o, const Dataset& d, const Interactions& train,
                            const std::filesystem::path& attributes) {
  using Kind = ItemGroupOptions::Kind;
  if (o.kind == Kind::none) return {};
  if (o.kind == Kind::builtin ||
      (o.kind == Kind::automatic && d.item_groups.group_of_item.defined())) {
    if (!d.item_groups.group_of_item.defined())
      fail("`item_groups` builtin: {} has no built-in item groups (only synthetic data does)",
           d.source);
    return d.item_groups;
  }
  if (o.kind == Kind::popularity || o.kind == Kind::automatic)
    return popularity_item_groups(o, o.kind == Kind::automatic ? 0.5 : o.head_share, d, train);
  return attribute_item_groups(o, d, attributes);
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

std::string UserGroupOptions::spec() const {
  switch (kind) {
    case Kind::none:
      return "none";
    case Kind::activity:
      return fmt::format("activity:{}", quantiles);
    case Kind::diversity:
      return fmt::format("diversity:{}", quantiles);
    case Kind::attribute:
      return cuts.empty() ? "attribute:" + column
                          : fmt::format("attribute:{}@{}", column, fmt::join(cuts, ","));
  }
  return "";
}

namespace {

// One group per value of the attribute, in the values' order, and "unknown".
void value_user_groups(const std::vector<std::string>& values, UserGroups& g,
                       std::vector<int64_t>& group) {
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
}

// Numeric bins between the cut points, and "unknown"; a value that is not a number is refused.
void binned_user_groups(const UserGroupOptions& o, const Dataset& d,
                        const std::vector<std::string>& values,
                        const std::filesystem::path& attributes, UserGroups& g,
                        std::vector<int64_t>& group) {
  const auto& cuts = o.cuts;
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
      fail("{}: {} '{}' of user '{}' is not a number (binned by `user_groups` {})",
           attributes.string(), o.column, values[k], d.user_ids[k], o.spec());
    } else {
      group[k] = std::upper_bound(cuts.begin(), cuts.end(), v) - cuts.begin();
    }
  }
}

UserGroups attribute_user_groups(const UserGroupOptions& o, const Dataset& d,
                                 const std::filesystem::path& attributes) {
  need_attributes(attributes, "user", o.spec());
  if (o.column.empty()) fail("`user_groups` '{}': needs a column", o.spec());
  for (size_t k = 1; k < o.cuts.size(); ++k)
    if (!(o.cuts[k - 1] < o.cuts[k]))
      fail("`user_groups` '{}': cut points must increase", o.spec());
  const auto values = read_attribute_column(attributes, o.column, d.user_ids);
  if (std::all_of(values.begin(), values.end(), [](const std::string& v) { return v.empty(); }))
    fail("{}: no user of the dataset has a value in column '{}' (`user_groups` '{}')",
         attributes.string(), o.column, o.spec());
  UserGroups g;
  g.attribute = o.column;
  std::vector<int64_t> group(values.size());
  if (o.cuts.empty()) {
    value_user_groups(values, g, group);
  } else {
    binned_user_groups(o, d, values, attributes, g, group);
  }
  g.group_of_user = to_tensor(group);
  return g;
}

}  // namespace

UserGroups make_user_groups(const UserGroupOptions& o, const Dataset& d, const Interactions& train,
                            const std::filesystem::path& attributes) {
  using Kind = UserGroupOptions::Kind;
  UserGroups g;
  if (o.kind == Kind::none) return g;
  if (o.kind == Kind::attribute) return attribute_user_groups(o, d, attributes);
  const int64_t q = o.quantiles;
  if (q < 1) fail("`user_groups` '{}': needs at least one quantile group", o.spec());
  if (o.kind == Kind::activity) {
    g.attribute = "activity";
    g.method = fmt::format("{} quantiles of training interactions per user (Q1 least active)", q);
    g.group_of_user = quantile_groups(at::bincount(train.users, {}, d.num_users), q);
    for (int64_t k = 1; k <= q; ++k) g.names.push_back(fmt::format("Q{}", k));
    return g;
  }
  // Interest diversity.
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

}  // namespace polyphony
