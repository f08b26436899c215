#include "engine/prepared_data.h"

#include <ATen/ATen.h>

#include "engine/dataset_loader.h"

namespace polyphony {

PreparedData prepare_data(const std::string& dataset_spec, const RatioSplitOptions& split) {
  PreparedData p;
  p.dataset = load_dataset(dataset_spec);
  const int64_t users = p.dataset.num_users, items = p.dataset.num_items;
  p.split = split_per_user_ratio(p.dataset.interactions, users, split);
  p.train = UserItemIndex(p.split.train, users, items);
  p.valid = UserItemIndex(p.split.valid, users, items);
  p.test = UserItemIndex(p.split.test, users, items);
  const Interactions seen{at::cat({p.split.train.users, p.split.valid.users}),
                          at::cat({p.split.train.items, p.split.valid.items})};
  p.seen = UserItemIndex(seen, users, items);
  return p;
}

}  // namespace polyphony
