#pragma once
// A dataset with its split and the per-user indexes training and evaluation need.

#include <string>

#include "engine/dataset.h"
#include "engine/split.h"
#include "engine/user_item_index.h"

namespace polyphony {

struct PreparedData {
  Dataset dataset;
  Split split;
  UserItemIndex train;  // masked in validation
  UserItemIndex valid;
  UserItemIndex test;
  UserItemIndex seen;  // train ∪ valid, masked in testing
};

// Loads `dataset_spec` (see load_dataset), splits it and builds the indexes (on the CPU).
PreparedData prepare_data(const std::string& dataset_spec, const RatioSplitOptions& split);

}  // namespace polyphony
