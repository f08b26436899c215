#pragma once
// The built-in synthetic music dataset: users listen mostly inside a few communities (genres,
// scenes), artists have Zipf-like popularity, and a cultural attribute per artist makes a
// majority group ("US") hold most of the plays while the rest is under-represented.

#include <cstdint>
#include <string>
#include <vector>

#include "engine/data/dataset.h"

namespace polyphony {

struct SyntheticOptions {
  /// Number of users.
  int64_t users = 3000;
  /// Number of items (artists).
  int64_t items = 10000;
  /// Mean number of distinct items per user.
  double mean_items_per_user = 50;
  /// Fewest distinct items per user.
  int64_t min_items_per_user = 10;
  /// Zipf exponent of item popularity, weight ∝ rank^-zipf.
  double zipf = 0.9;
  /// Number of communities (a degree-corrected block structure).
  int64_t communities = 24;
  /// Probability that a listen stays inside one of the user's two communities.
  double community_affinity = 0.85;
  /// Share of items in the majority cultural group.
  double majority_share = 0.3;
  /// Popularity multiplier of majority-group items.
  double majority_boost = 4.0;
  /// Share of items whose attribute is unknown.
  double unknown_share = 0.02;
  /// Seed of the generator: same options, same dataset (on any number of threads).
  uint64_t seed = 20240517;
};

// The presets: "music-demo" (3k users, 10k artists, ~150k interactions), "music-small" (600
// users, 2k artists) and "lfm-2b-scale" (120k users, 1M artists, ~100M interactions).
const std::vector<std::string>& synthetic_presets();

// Options of a named preset; an unknown name is an error.
SyntheticOptions synthetic_preset(const std::string& name);

// Generates the dataset in parallel, writing straight into the final arrays (users, items and
// timestamps: ~24 bytes per interaction and little else). Each user draws from a generator
// seeded by (seed, user), so the result does not depend on the thread count.
Dataset generate_synthetic(const SyntheticOptions& options, const std::string& source);

}  // namespace polyphony
