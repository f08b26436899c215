#pragma once
// Item and user groups for the fairness metrics, defined from attributes or from the training
// interactions.

#include <filesystem>
#include <string>

#include <ATen/core/Tensor.h>

#include "engine/data/dataset.h"

namespace polyphony {

// Head items: the most popular items that together hold `share` of the interactions (an item is
// head when the items more popular than it hold less than that share). `popularity`: [I] counts.
at::Tensor head_items(const at::Tensor& popularity, double share);

// --item-groups:
//   "attribute:COLUMN=V1,V2"          items whose COLUMN is one of V1, V2 (over-represented)
//                                      against every other value ("non-V1,V2"), unknown apart
//   "attribute:COLUMN=V1,V2/W1,W2"    V1, V2 (over) against W1, W2 (under); other values form
//                                      "other", missing ones "unknown"
//   "popularity:SHARE"                head (items holding SHARE of training interactions, over)
//                                      against tail (under)
//   "builtin"                         the dataset's own groups (synthetic data)
//   "none"
// COLUMN is read from `attributes` (see read_attribute_column).
ItemGroups make_item_groups(const std::string& spec, const Dataset& dataset,
                            const Interactions& train, const std::filesystem::path& attributes);

// --user-groups:
//   "attribute:COLUMN"                one group per value, missing values "unknown"
//   "attribute:COLUMN@C1,C2,..."      numeric COLUMN binned at the cut points C1 < C2 < ...
//   "activity:Q"                      Q quantile groups of training interactions (Q1 least)
//   "diversity:Q"                     Q quantile groups of interest diversity (Q1 least diverse;
//                                      users with no embedded item: "unknown")
//   "none"
UserGroups make_user_groups(const std::string& spec, const Dataset& dataset,
                            const Interactions& train, const std::filesystem::path& attributes);

// Interest diversity of every user (models.md, "User interest diversity"): with x_i the unit
// truncated-SVD PPMI embedding of item i (built from `train`), div(u) = 1 − ‖mean_{i ∈ I_u} x_i‖
// over the user's training items that have an embedding; NaN for users with none. double [U].
at::Tensor interest_diversity(const Interactions& train, int64_t num_users, int64_t num_items);

// Q quantile groups of `score` [n] by rank (ties by index): group = floor(rank * Q / n).
at::Tensor quantile_groups(const at::Tensor& score, int64_t quantiles);

}  // namespace polyphony
