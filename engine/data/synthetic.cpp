#include "engine/data/synthetic.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "common/error.h"
#include "engine/data/random.h"

namespace polyphony {
namespace {

constexpr int64_t kMajority = 0;  // "US"
constexpr int64_t kMinority = 1;  // "non-US"
constexpr int64_t kUnknown = 2;
// Listening histories start within this window and advance by about a day per new artist.
constexpr int64_t kFirstTimestamp = 1104537600;  // 2005-01-01
constexpr double kStartWindowSeconds = 10 * 365.25 * 86400;
constexpr double kMeanGapSeconds = 86400;

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

// SplitMix64 finaliser: well-spread per-user seeds from (seed, user).
uint64_t mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

}  // namespace

const std::vector<std::string>& synthetic_presets() {
  static const std::vector<std::string> names = {"music-demo", "music-small", "lfm-2b-scale"};
  return names;
}

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
  if (name == "lfm-2b-scale") {
    o.users = 120000;
    o.items = 1000000;
    o.mean_items_per_user = 850;
    o.communities = 64;
    return o;
  }
  std::string known;
  for (const auto& n : synthetic_presets()) known += (known.empty() ? "" : ", ") + n;
  fail("unknown synthetic preset '{}' (available: {})", name, known);
}

namespace {

// The items of a synthetic catalogue: community, cultural group and popularity weight of each,
// with the cumulative weights that draws use.
struct Catalogue {
  std::vector<int64_t> community, group;
  std::vector<std::vector<int64_t>> members;           // the items of each community
  std::vector<std::vector<double>> member_cumulative;  // cumulative weights inside each
  std::vector<double> all_cumulative;                  // over the whole catalogue
  std::vector<int64_t> nonempty;                       // communities with items
};

Catalogue draw_catalogue(const SyntheticOptions& o, Random& rng) {
  const int64_t n_items = o.items;
  // Popularity rank of each item: a random permutation, so ids carry no popularity.
  std::vector<int64_t> rank(n_items);
  std::iota(rank.begin(), rank.end(), 0);
  for (int64_t i = n_items - 1; i > 0; --i) std::swap(rank[i], rank[rng.below(i + 1)]);

  // Communities differ in how much of the majority culture they hold (mean: majority_share),
  // so cultural groups and listening communities are correlated, as in real catalogues.
  Catalogue c;
  c.community.resize(n_items);
  c.group.resize(n_items);
  std::vector<double> weight(n_items);
  for (int64_t i = 0; i < n_items; ++i) {
    c.community[i] = static_cast<int64_t>(rng.below(o.communities));
    const double p_majority = std::min(
        1.0, o.majority_share * 2.0 * (static_cast<double>(c.community[i]) + 0.5) / o.communities);
    if (rng.uniform() < o.unknown_share) {
      c.group[i] = kUnknown;
    } else {
      c.group[i] = rng.uniform() < p_majority ? kMajority : kMinority;
    }
    weight[i] = std::pow(static_cast<double>(rank[i] + 1), -o.zipf) *
                (c.group[i] == kMajority ? o.majority_boost : 1.0);
  }

  c.members.resize(o.communities);
  c.member_cumulative.resize(o.communities);
  c.all_cumulative.resize(n_items);
  double total = 0;
  for (int64_t i = 0; i < n_items; ++i) {
    c.members[c.community[i]].push_back(i);
    auto& cum = c.member_cumulative[c.community[i]];
    cum.push_back((cum.empty() ? 0.0 : cum.back()) + weight[i]);
    c.all_cumulative[i] = (total += weight[i]);
  }
  for (int64_t k = 0; k < o.communities; ++k)
    if (!c.members[k].empty()) c.nonempty.push_back(k);
  return c;
}

// Activity of each user: log-normal with mean `mean_items_per_user` (E[exp(σZ − σ²/2)] = 1,
// σ = 0.8), at least the minimum, at most half the catalogue; as offsets into the output.
std::vector<int64_t> user_offsets(const SyntheticOptions& o, Random& rng) {
  const int64_t max_per_user = std::max<int64_t>(o.min_items_per_user, o.items / 2);
  std::vector<int64_t> offset(o.users + 1, 0);
  for (int64_t u = 0; u < o.users; ++u) {
    const double activity = o.mean_items_per_user * std::exp(0.8 * rng.normal() - 0.32);
    offset[u + 1] =
        offset[u] + std::clamp<int64_t>(std::llround(activity), o.min_items_per_user, max_per_user);
  }
  return offset;
}

// User `u`'s history into [begin, end) of the outputs: distinct items, mostly from two home
// communities, at increasing times. `taken` (all false) is left all false.
void draw_history(const SyntheticOptions& o, const Catalogue& c, int64_t u, int64_t begin,
                  int64_t end, std::vector<bool>& taken, int64_t* item_out, int64_t* time_out) {
  Random r(mix(o.seed ^ mix(static_cast<uint64_t>(u))));
  const int64_t home[2] = {c.nonempty[r.below(c.nonempty.size())],
                           c.nonempty[r.below(c.nonempty.size())]};
  double t = static_cast<double>(kFirstTimestamp) + r.uniform() * kStartWindowSeconds;
  int64_t filled = begin;
  // Draws until the user has n_u distinct items; a fallback sweep covers tiny catalogues.
  for (int64_t tries = 0; filled < end && tries < 50 * (end - begin); ++tries) {
    const double p = r.uniform();
    int64_t item;
    if (p < o.community_affinity) {
      const int64_t k = p < 0.7 * o.community_affinity ? home[0] : home[1];
      item = c.members[k][draw(c.member_cumulative[k], r)];
    } else {
      item = draw(c.all_cumulative, r);
    }
    if (taken[item]) continue;
    taken[item] = true;
    t += -std::log(1.0 - r.uniform()) * kMeanGapSeconds;
    item_out[filled] = item;
    time_out[filled] = static_cast<int64_t>(t);
    ++filled;
  }
  for (int64_t item = 0; filled < end; ++item) {
    if (taken[item]) continue;
    taken[item] = true;
    t += kMeanGapSeconds;
    item_out[filled] = item;
    time_out[filled] = static_cast<int64_t>(t);
    ++filled;
  }
  for (int64_t k = begin; k < end; ++k) taken[item_out[k]] = false;
}

}  // namespace

Dataset generate_synthetic(const SyntheticOptions& o, const std::string& source) {
  validate(o);
  Random rng(o.seed);
  const int64_t n_items = o.items;
  const Catalogue catalogue = draw_catalogue(o, rng);
  const std::vector<int64_t> offset = user_offsets(o, rng);
  const int64_t n = offset.back();
  auto users = at::empty({n}, at::kLong), items = at::empty({n}, at::kLong),
       times = at::empty({n}, at::kLong);
  int64_t* user_out = users.data_ptr<int64_t>();
  int64_t* item_out = items.data_ptr<int64_t>();
  int64_t* time_out = times.data_ptr<int64_t>();
  at::parallel_for(0, o.users, 64, [&](int64_t begin, int64_t end) {
    std::vector<bool> taken(n_items, false);
    for (int64_t u = begin; u < end; ++u) {
      draw_history(o, catalogue, u, offset[u], offset[u + 1], taken, item_out, time_out);
      std::fill(user_out + offset[u], user_out + offset[u + 1], u);
    }
  });

  Dataset d;
  d.source = source;
  d.num_users = o.users;
  d.num_items = n_items;
  d.interactions.users = users;
  d.interactions.items = items;
  d.interactions.timestamps = times;
  d.user_ids.reserve(o.users);
  for (int64_t u = 0; u < o.users; ++u) d.user_ids.push_back(fmt::format("user-{:06d}", u));
  d.item_ids.reserve(n_items);
  for (int64_t i = 0; i < n_items; ++i) d.item_ids.push_back(fmt::format("artist-{:06d}", i));
  d.item_groups.attribute = "country";
  d.item_groups.names = {"US", "non-US", "unknown"};
  d.item_groups.over = kMajority;
  d.item_groups.under = kMinority;
  d.item_groups.group_of_item = at::tensor(at::ArrayRef<int64_t>(catalogue.group), at::kLong);
  // The two sides as the listed values of the candidate rank (unknown items carry neither).
  d.item_groups.values = {"US", "non-US"};
  d.item_groups.over_values = 1;
  d.item_groups.value_of_item =
      at::one_hot(d.item_groups.group_of_item, 3).narrow(1, 0, 2).to(at::kDouble);
  return d;
}

}  // namespace polyphony
