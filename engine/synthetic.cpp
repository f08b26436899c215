#include "engine/synthetic.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <unordered_set>

#include "common/error.h"
#include "engine/random.h"

namespace polyphony {
namespace {

constexpr int64_t kMajority = 0;  // "US"
constexpr int64_t kMinority = 1;  // "non-US"
constexpr int64_t kUnknown = 2;

void validate(const SyntheticOptions& o) {
  if (o.users < 1) fail("synthetic: users must be at least 1 (got {})", o.users);
  if (o.items < 2) fail("synthetic: items must be at least 2 (got {})", o.items);
  if (o.communities < 1 || o.communities > o.items)
    fail("synthetic: communities must be in [1, items] (got {})", o.communities);
  if (o.mean_items_per_user < 1) fail("synthetic: mean items per user must be at least 1");
  if (o.min_items_per_user < 1 || o.min_items_per_user > o.items)
    fail("synthetic: min items per user must be in [1, items] (got {})", o.min_items_per_user);
  if (o.zipf < 0) fail("synthetic: zipf exponent must be non-negative (got {})", o.zipf);
  for (double share : {o.community_affinity, o.majority_share, o.unknown_share})
    if (share < 0 || share > 1) fail("synthetic: shares must lie in [0, 1] (got {})", share);
  if (o.majority_boost <= 0) fail("synthetic: majority boost must be positive");
}

// Draws an index with probability proportional to the weights behind `cumulative`.
int64_t draw(const std::vector<double>& cumulative, Random& rng) {
  const double r = rng.uniform() * cumulative.back();
  auto it = std::upper_bound(cumulative.begin(), cumulative.end(), r);
  return std::min<int64_t>(it - cumulative.begin(), static_cast<int64_t>(cumulative.size()) - 1);
}

}  // namespace

SyntheticOptions synthetic_preset(const std::string& name) {
  SyntheticOptions o;
  if (name == "music-demo") return o;
  if (name == "music-small") {
    o.users = 600;
    o.items = 2000;
    o.mean_items_per_user = 40;
    o.communities = 12;
    return o;
  }
  fail("unknown synthetic preset '{}' (available: music-demo, music-small)", name);
}

Dataset generate_synthetic(const SyntheticOptions& o, const std::string& source) {
  validate(o);
  Random rng(o.seed);
  const int64_t n_items = o.items;

  // Popularity rank of each item: a random permutation, so ids carry no popularity.
  std::vector<int64_t> rank(n_items);
  std::iota(rank.begin(), rank.end(), 0);
  for (int64_t i = n_items - 1; i > 0; --i) std::swap(rank[i], rank[rng.below(i + 1)]);

  // Communities differ in how much of the majority culture they hold (mean: majority_share),
  // so cultural groups and listening communities are correlated, as in real catalogues.
  std::vector<int64_t> community(n_items), group(n_items);
  std::vector<double> weight(n_items);
  for (int64_t i = 0; i < n_items; ++i) {
    community[i] = static_cast<int64_t>(rng.below(o.communities));
    const double p_majority = std::min(
        1.0, o.majority_share * 2.0 * (static_cast<double>(community[i]) + 0.5) / o.communities);
    if (rng.uniform() < o.unknown_share) {
      group[i] = kUnknown;
    } else {
      group[i] = rng.uniform() < p_majority ? kMajority : kMinority;
    }
    weight[i] = std::pow(static_cast<double>(rank[i] + 1), -o.zipf) *
                (group[i] == kMajority ? o.majority_boost : 1.0);
  }

  // Cumulative weights inside each community and over the whole catalogue.
  std::vector<std::vector<int64_t>> members(o.communities);
  std::vector<std::vector<double>> member_cumulative(o.communities);
  std::vector<double> all_cumulative(n_items);
  double total = 0;
  for (int64_t i = 0; i < n_items; ++i) {
    members[community[i]].push_back(i);
    auto& cum = member_cumulative[community[i]];
    cum.push_back((cum.empty() ? 0.0 : cum.back()) + weight[i]);
    all_cumulative[i] = (total += weight[i]);
  }

  std::vector<int64_t> users, items;
  users.reserve(static_cast<size_t>(o.users * o.mean_items_per_user * 1.1));
  items.reserve(users.capacity());
  const int64_t max_per_user = std::max<int64_t>(o.min_items_per_user, n_items / 2);
  std::unordered_set<int64_t> chosen;
  std::vector<int64_t> order;
  for (int64_t u = 0; u < o.users; ++u) {
    // Log-normal activity with mean `mean_items_per_user` (E[exp(σZ − σ²/2)] = 1, σ = 0.8).
    const double activity = o.mean_items_per_user * std::exp(0.8 * rng.normal() - 0.32);
    const int64_t n_u =
        std::clamp<int64_t>(std::llround(activity), o.min_items_per_user, max_per_user);
    int64_t home[2];
    for (auto& c : home) {
      do {
        c = static_cast<int64_t>(rng.below(o.communities));
      } while (members[c].empty());
    }
    chosen.clear();
    order.clear();
    for (int64_t tries = 0; static_cast<int64_t>(chosen.size()) < n_u && tries < 50 * n_u;
         ++tries) {
      const double r = rng.uniform();
      int64_t item;
      if (r < o.community_affinity) {
        const int64_t c = r < 0.7 * o.community_affinity ? home[0] : home[1];
        item = members[c][draw(member_cumulative[c], rng)];
      } else {
        item = draw(all_cumulative, rng);
      }
      if (chosen.insert(item).second) order.push_back(item);
    }
    for (int64_t item : order) {
      users.push_back(u);
      items.push_back(item);
    }
  }

  Dataset d;
  d.source = source;
  d.num_users = o.users;
  d.num_items = n_items;
  const auto n = static_cast<int64_t>(users.size());
  d.interactions.users = at::from_blob(users.data(), {n}, at::kLong).clone();
  d.interactions.items = at::from_blob(items.data(), {n}, at::kLong).clone();
  d.user_ids.reserve(o.users);
  for (int64_t u = 0; u < o.users; ++u) d.user_ids.push_back(fmt::format("user-{:06d}", u));
  d.item_ids.reserve(n_items);
  for (int64_t i = 0; i < n_items; ++i) d.item_ids.push_back(fmt::format("artist-{:06d}", i));
  d.item_groups.attribute = "country";
  d.item_groups.names = {"US", "non-US", "unknown"};
  d.item_groups.over = kMajority;
  d.item_groups.under = kMinority;
  d.item_groups.group_of_item = at::from_blob(group.data(), {n_items}, at::kLong).clone();
  return d;
}

}  // namespace polyphony
