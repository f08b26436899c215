#include "engine/data/preprocess.h"

#include <ATen/ATen.h>

#include <limits>

#include <fmt/format.h>

#include "common/error.h"

namespace polyphony {
namespace {

// A tensor that takes over a vector's buffer: no copy, freed with the tensor.
template <typename T>
at::Tensor adopt(std::vector<T>&& values, at::ScalarType type) {
  if (values.empty()) return at::empty({0}, at::TensorOptions().dtype(type));
  auto* owned = new std::vector<T>(std::move(values));
  return at::from_blob(
      owned->data(), {static_cast<int64_t>(owned->size())}, [owned](void*) { delete owned; },
      at::TensorOptions().dtype(type));
}

// Keeps the entries of `ids` where `used` is true and returns old index -> new index (-1: gone).
at::Tensor compact_ids(const at::Tensor& used, std::vector<std::string>& ids) {
  const auto used_cpu = used.contiguous();
  const bool* keep = used_cpu.data_ptr<bool>();
  std::vector<std::string> kept;
  kept.reserve(ids.size());
  for (size_t k = 0; k < ids.size(); ++k)
    if (keep[k]) kept.push_back(std::move(ids[k]));
  ids = std::move(kept);
  return at::where(used, used.to(at::kLong).cumsum(0) - 1, at::full_like(used, -1, at::kLong));
}

}  // namespace

std::string PreprocessReport::summary() const {
  std::string text = fmt::format("read {} records", records);
  if (users_read || items_read)
    text += fmt::format(" ({} users, {} items)", users_read, items_read);
  if (below_min_weight) text += fmt::format(", {} below the minimum weight", below_min_weight);
  text += fmt::format(", merged {} duplicate pairs", duplicates);
  if (filter_rounds)
    text += fmt::format(", count filters removed {} interactions in {} round{}", removed_by_counts,
                        filter_rounds, filter_rounds == 1 ? "" : "s");
  return text;
}

Dataset dataset_from_log(InteractionLog&& log, std::string source, PreprocessReport& report) {
  report.records = log.records;
  report.below_min_weight = log.below_min_weight;
  Dataset d;
  d.source = std::move(source);
  d.num_users = report.users_read = log.user_ids.size();
  d.num_items = report.items_read = log.item_ids.size();
  d.user_ids = log.user_ids.release_ids();
  d.item_ids = log.item_ids.release_ids();
  Interactions& x = d.interactions;
  x.users = adopt(std::move(log.users), at::kLong);
  x.items = adopt(std::move(log.items), at::kLong);
  if (!log.weights.empty()) x.weights = adopt(std::move(log.weights), at::kFloat);
  if (!log.timestamps.empty()) x.timestamps = adopt(std::move(log.timestamps), at::kLong);
  if (!log.parts.empty()) d.predefined_part = adopt(std::move(log.parts), at::kByte);

  const int64_t n = x.size();
  const auto keys = x.users * d.num_items + x.items;
  const auto [sorted, order] = keys.sort(/*stable=*/std::optional<bool>(true), 0);
  auto is_new = at::ones({n}, at::kLong);
  if (n > 1)
    is_new.narrow(0, 1, n - 1).copy_(sorted.narrow(0, 1, n - 1) != sorted.narrow(0, 0, n - 1));
  const auto group_sorted = is_new.cumsum(0) - 1;
  const int64_t groups = n ? group_sorted[n - 1].item<int64_t>() + 1 : 0;
  report.duplicates = n - groups;
  if (groups == n) return d;

  // Group of every position, then groups ranked by their first position (file order kept).
  auto group = at::empty({n}, at::kLong).index_put_({order}, group_sorted);
  const auto positions = at::arange(n, at::kLong);
  const auto first =
      at::full({groups}, n, at::kLong).scatter_reduce(0, group, positions, "amin", true);
  const auto rank =
      at::empty({groups}, at::kLong).index_put_({first.argsort()}, at::arange(groups, at::kLong));
  const auto new_group = rank.index_select(0, group);
  const auto kept = std::get<0>(first.sort());

  if (d.predefined_part.defined()) {
    const auto part = d.predefined_part.to(at::kLong);
    const auto low =
        at::full({groups}, 3, at::kLong).scatter_reduce(0, new_group, part, "amin", true);
    const auto high =
        at::full({groups}, -1, at::kLong).scatter_reduce(0, new_group, part, "amax", true);
    const auto clash = (low != high).nonzero();
    if (clash.numel() > 0) {
      const int64_t k = kept[clash[0][0].item<int64_t>()].item<int64_t>();
      static const char* names[] = {"train", "valid", "test"};
      fail("{}: user '{}' and item '{}' appear in both the {} and the {} part", d.source,
           d.user_ids[x.users[k].item<int64_t>()], d.item_ids[x.items[k].item<int64_t>()],
           names[low[clash[0][0]].item<int64_t>()], names[high[clash[0][0]].item<int64_t>()]);
    }
    d.predefined_part = d.predefined_part.index_select(0, kept);
  }
  Interactions merged{x.users.index_select(0, kept), x.items.index_select(0, kept), {}, {}};
  if (x.weights.defined())
    merged.weights = at::zeros({groups}, at::kFloat).index_add_(0, new_group, x.weights);
  if (x.timestamps.defined())
    merged.timestamps = at::full({groups}, std::numeric_limits<int64_t>::max(), at::kLong)
                            .scatter_reduce(0, new_group, x.timestamps, "amin", true);
  x = std::move(merged);
  return d;
}

void filter_by_counts(Dataset& d, const CountFilterOptions& options, PreprocessReport& report) {
  if (options.min_user_interactions < 0 || options.min_item_interactions < 0)
    fail("minimum interaction counts must be non-negative");
  if (options.min_user_interactions <= 1 && options.min_item_interactions <= 1) return;
  Interactions& x = d.interactions;
  const int64_t before = x.size();
  for (;;) {
    ++report.filter_rounds;
    const auto user_count = at::bincount(x.users, {}, d.num_users);
    const auto item_count = at::bincount(x.items, {}, d.num_items);
    const auto keep = (user_count.index_select(0, x.users) >= options.min_user_interactions) &
                      (item_count.index_select(0, x.items) >= options.min_item_interactions);
    if (keep.all().item<bool>()) break;
    const auto index = keep.nonzero().squeeze(1);
    x = x.select(index);
    if (d.predefined_part.defined()) d.predefined_part = d.predefined_part.index_select(0, index);
    if (!options.iterate) break;
  }
  report.removed_by_counts = before - x.size();
  if (x.size() == 0)
    fail("{}: no interaction is left after the count filters (users ≥ {}, items ≥ {})", d.source,
         options.min_user_interactions, options.min_item_interactions);

  const auto user_map = compact_ids(at::bincount(x.users, {}, d.num_users) > 0, d.user_ids);
  const auto item_used = at::bincount(x.items, {}, d.num_items) > 0;
  if (d.item_groups.group_of_item.defined())
    d.item_groups.group_of_item = d.item_groups.group_of_item.index({item_used});
  const auto item_map = compact_ids(item_used, d.item_ids);
  x.users = user_map.index_select(0, x.users);
  x.items = item_map.index_select(0, x.items);
  d.num_users = static_cast<int64_t>(d.user_ids.size());
  d.num_items = static_cast<int64_t>(d.item_ids.size());
}

}  // namespace polyphony
