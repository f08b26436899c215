#include "engine/data/prepared_data.h"

#include <ATen/ATen.h>

#include "common/error.h"
#include "engine/data/recbole_atomic.h"

namespace polyphony {

PreparedData prepare_data(const DataSetup& setup) {
  PreparedData p;
  auto loaded = load_dataset(setup.load);
  p.dataset = std::move(loaded.dataset);
  p.report = loaded.report;
  p.cache = std::move(loaded.cache);
  const int64_t users = p.dataset.num_users, items = p.dataset.num_items;
  if (items < 2)
    fail(
        "{}: {} item left after reading and filtering; ranking needs at least 2 (see "
        "`min_rating`, `min_plays`, `min_user_interactions`, `min_item_interactions`, `kcore`)",
        p.dataset.source, items);
  p.split = make_split(p.dataset, setup.split);

  p.item_attributes = setup.item_attributes;
  p.user_attributes = setup.user_attributes;
  if (setup.load.source.kind == "recbole") {
    const auto files = recbole_files(setup.load.source.argument);
    if (p.item_attributes.empty()) p.item_attributes = files.items;
    if (p.user_attributes.empty()) p.user_attributes = files.users;
  }
  p.dataset.item_groups =
      make_item_groups(setup.item_groups, p.dataset, p.split.train, p.item_attributes);
  p.user_groups = make_user_groups(setup.user_groups, p.dataset, p.split.train, p.user_attributes);

  p.train = UserItemIndex(p.split.train, users, items);
  p.valid = UserItemIndex(p.split.valid, users, items);
  p.test = UserItemIndex(p.split.test, users, items);
  const Interactions seen{at::cat({p.split.train.users, p.split.valid.users}),
                          at::cat({p.split.train.items, p.split.valid.items}),
                          {},
                          {}};
  p.seen = UserItemIndex(seen, users, items);
  return p;
}

}  // namespace polyphony
