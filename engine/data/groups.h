#pragma once
// Item and user groups for the fairness metrics, defined from attributes or from the training
// interactions.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "engine/data/dataset.h"

namespace polyphony {

// Head items: the most popular items that together hold `share` of the interactions (an item is
// head when the items more popular than it hold less than that share). `popularity`: [I] counts.
at::Tensor head_items(const at::Tensor& popularity, double share);

// Which item groups the fairness metrics compare (--item-groups).
struct ItemGroupOptions {
  enum class Kind { automatic, none, builtin, popularity, attribute };
  /// automatic: the dataset's own groups when it has them (builtin), else popularity with 0.5.
  Kind kind = Kind::automatic;
  /// popularity: head items (over-represented) hold this share of the training interactions,
  /// in (0, 1); the rest are tail (under-represented).
  double head_share = 0.5;
  /// attribute: items whose `column` (read from the item attribute file, see
  /// read_attribute_column) is one of `over` form the over-represented group. With `under`
  /// empty every other value is the other group; otherwise `under` is, the remaining values
  /// form "other". Missing values form "unknown". An item of several values (V1|V2, a RecBole
  /// token_seq) is on the side one of them is listed on when none is listed on the other side.
  std::string column;
  std::vector<std::string> over;
  std::vector<std::string> under;

  // As written on the command line: auto, none, builtin, popularity:SHARE,
  // attribute:COLUMN=V1,V2[/W1,W2].
  std::string spec() const;
};

// Which user groups the fairness metrics compare (--user-groups).
struct UserGroupOptions {
  enum class Kind { none, attribute, activity, diversity };
  Kind kind = Kind::none;
  /// attribute: the column of the user attribute file; one group per value, or with `cuts`
  /// (increasing) numeric bins below C1, [C1, C2), ..., at or above the last.
  std::string column;
  std::vector<double> cuts;
  /// activity / diversity: the number of quantile groups of training interactions per user
  /// (Q1 least active) or of interest diversity (Q1 least diverse; users with no embedded item
  /// form "unknown").
  int64_t quantiles = 4;

  // As written on the command line: none, attribute:COLUMN[@C1,C2,...], activity:Q,
  // diversity:Q.
  std::string spec() const;
};

// The item groups `options` describe. Errors name the setting (`item_groups`).
ItemGroups make_item_groups(const ItemGroupOptions& options, const Dataset& dataset,
                            const Interactions& train, const std::filesystem::path& attributes);

// The user groups `options` describe. Errors name the setting (`user_groups`), or the attribute
// file, line and user.
UserGroups make_user_groups(const UserGroupOptions& options, const Dataset& dataset,
                            const Interactions& train, const std::filesystem::path& attributes);

// Interest diversity of every user (models.md, "User interest diversity"): with x_i the unit
// truncated-SVD PPMI embedding of item i (built from `train`), div(u) = 1 − ‖mean_{i ∈ I_u} x_i‖
// over the user's training items that have an embedding; NaN for users with none. double [U].
at::Tensor interest_diversity(const Interactions& train, int64_t num_users, int64_t num_items);

// The most popular `fraction` of the items: the ceil(fraction · I) items with the most training
// interactions, ties to the lower index. `popularity`: [I] counts; bool [I].
at::Tensor most_popular_items(const at::Tensor& popularity, double fraction);

// Q quantile groups of `score` [n] by rank (ties by index): group = floor(rank * Q / n).
at::Tensor quantile_groups(const at::Tensor& score, int64_t quantiles);

}  // namespace polyphony
