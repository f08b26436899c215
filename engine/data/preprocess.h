#pragma once
// From a parsed log to a clean dataset: duplicate (user, item) pairs merged, users and items
// below minimum counts removed (once, or iteratively to the k-core fixpoint), indices re-densified.

#include <cstdint>
#include <string>

#include "engine/data/dataset.h"
#include "engine/data/interaction_formats.h"

namespace polyphony {

struct CountFilterOptions {
  /// Users with fewer interactions are removed.
  int64_t min_user_interactions = 0;
  /// Items with fewer interactions are removed.
  int64_t min_item_interactions = 0;
  /// Repeat until every remaining user and item meets its minimum (the k-core).
  bool iterate = false;
};

// What preprocessing read, merged and removed, for the run log.
struct PreprocessReport {
  int64_t records = 0;            // lines (or pairs) read
  int64_t users_read = 0;         // distinct users among the records the threshold kept
  int64_t items_read = 0;         // distinct items among them
  int64_t below_min_weight = 0;   // dropped by the rating / play-count threshold
  int64_t duplicates = 0;         // merged into an earlier (user, item) pair
  int64_t removed_by_counts = 0;  // interactions removed by the count filters
  int64_t filter_rounds = 0;
  std::string summary() const;
};

// Moves `log` into a Dataset and merges duplicate (user, item) pairs in place of their first
// occurrence: play counts / ratings add up and the earliest timestamp is kept. In a predefined
// split, one pair in two parts is an error naming both ids.
Dataset dataset_from_log(InteractionLog&& log, std::string source, PreprocessReport& report);

// Removes users and items below their minimum counts and re-indexes both densely (ids, item
// groups and a predefined split follow). With `iterate`, the result is the largest subset in
// which every user and item meets its minimum.
void filter_by_counts(Dataset& dataset, const CountFilterOptions& options,
                      PreprocessReport& report);

}  // namespace polyphony
