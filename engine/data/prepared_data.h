#pragma once
// A dataset with its split, its item and user groups, and the per-user indexes training and
// evaluation need.

#include <filesystem>
#include <string>

#include "engine/data/dataset.h"
#include "engine/data/dataset_loader.h"
#include "engine/data/groups.h"
#include "engine/data/split.h"
#include "engine/data/user_item_index.h"

namespace polyphony {

// Everything the command line says about data.
struct DataSetup {
  DataOptions load;
  SplitOptions split;
  ItemGroupOptions item_groups;
  std::filesystem::path item_attributes;
  UserGroupOptions user_groups;
  std::filesystem::path user_attributes;
};

struct PreparedData {
  Dataset dataset;  // item_groups resolved from the setup
  PreprocessReport report;
  std::string cache;
  Split split;
  UserGroups user_groups;
  // The attribute files read: the given ones, else a RecBole dataset's NAME.item / NAME.user.
  std::filesystem::path item_attributes, user_attributes;
  UserItemIndex train;  // masked in validation
  UserItemIndex valid;
  UserItemIndex test;
  UserItemIndex seen;  // train ∪ valid, masked in testing
};

// Loads, splits, forms the groups and builds the indexes (on the CPU).
PreparedData prepare_data(const DataSetup& setup);

}  // namespace polyphony
