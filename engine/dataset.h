#pragma once
// A dataset after id remapping: interactions as dense int64 indices, the external ids they came
// from, and the item groups the fairness metrics compare.

#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace polyphony {

// Interactions as parallel index arrays (int64, CPU unless moved).
struct Interactions {
  at::Tensor users;  // [n]
  at::Tensor items;  // [n]
  int64_t size() const { return users.defined() ? users.numel() : 0; }
};

// A partition of the items into named groups, e.g. by artist country.
struct ItemGroups {
  std::string attribute;           // e.g. "country"
  at::Tensor group_of_item;        // int64 [num_items], index into names
  std::vector<std::string> names;  // e.g. {"US", "non-US", "unknown"}
  int64_t over = -1;               // the over-represented group, -1 if none
  int64_t under = -1;              // the under-represented group, -1 if none
};

struct Dataset {
  std::string source;  // the --dataset spec it was built from
  int64_t num_users = 0;
  int64_t num_items = 0;
  Interactions interactions;
  std::vector<std::string> user_ids;  // external id of each dense user index
  std::vector<std::string> item_ids;  // external id of each dense item index
  ItemGroups item_groups;
};

}  // namespace polyphony
