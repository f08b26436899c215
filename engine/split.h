#pragma once
// Train/validation/test splits of a dataset's interactions.

#include <cstdint>

#include "engine/dataset.h"

namespace polyphony {

struct Split {
  Interactions train;
  Interactions valid;
  Interactions test;
};

struct RatioSplitOptions {
  /// Share of each user's interactions that goes to training.
  double train = 0.8;
  /// Share that goes to validation; the rest is test.
  double valid = 0.1;
  /// Seed of the per-user shuffle.
  uint64_t seed = 42;
};

// Per-user random ratio split: each user's interactions are shuffled with a seeded generator and
// cut by the ratios (every user keeps at least one training interaction).
Split split_per_user_ratio(const Interactions& all, int64_t num_users,
                           const RatioSplitOptions& options);

}  // namespace polyphony
