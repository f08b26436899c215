#pragma once
// A dataset after id remapping: interactions as dense int64 indices, the external ids they came
// from, and the item and user groups the fairness metrics compare.

#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace polyphony {

// Interactions as parallel arrays (CPU unless moved). Weights and timestamps are optional.
struct Interactions {
  at::Tensor users;       // int64 [n]
  at::Tensor items;       // int64 [n]
  at::Tensor weights;     // float [n] (rating, play count) or undefined
  at::Tensor timestamps;  // int64 [n] seconds since 1970 or undefined
  int64_t size() const { return users.defined() ? users.numel() : 0; }
  // The interactions at `index` (int64 positions), optional arrays included.
  Interactions select(const at::Tensor& index) const;
  // The same interactions on `device`.
  Interactions to(const at::Device& device) const;
};

// A partition of the items into named groups, e.g. by artist country.
struct ItemGroups {
  std::string attribute;           // e.g. "country", "popularity"
  at::Tensor group_of_item;        // int64 [num_items], index into names
  std::vector<std::string> names;  // e.g. {"US", "non-US", "unknown"}
  int64_t over = -1;               // the over-represented group, -1 if none
  int64_t under = -1;              // the under-represented group, -1 if none
  // Attribute groups with both sides listed (countries, say): the listed values, the over side's
  // first, and which items carry each (double [num_items, values]: 1 where the item's value is it
  // or, written V1|V2, lists it), for the candidate rank of sampled evaluation; else empty.
  std::vector<std::string> values{};
  int64_t over_values = 0;  // values[0, over_values) are the over side's, the rest the under's
  at::Tensor value_of_item{};
};

// A partition of the users into named groups, e.g. by country, activity or interest diversity.
struct UserGroups {
  std::string attribute;           // e.g. "gender", "activity", "diversity"
  std::string method;              // how the groups were formed, for reports
  at::Tensor group_of_user;        // int64 [num_users], index into names
  std::vector<std::string> names;  // e.g. {"f", "m", "unknown"} or {"Q1", ..., "Q5"}
};

struct Dataset {
  std::string source;  // the --dataset spec it was built from
  int64_t num_users = 0;
  int64_t num_items = 0;
  Interactions interactions;
  std::vector<std::string> user_ids;  // external id of each dense user index
  std::vector<std::string> item_ids;  // external id of each dense item index
  ItemGroups item_groups;             // built-in groups (synthetic data); else set from options
  // Split given by the source files (0 train, 1 valid, 2 test; uint8 [n]) or undefined.
  at::Tensor predefined_part;
};

}  // namespace polyphony
