#include "models/distinct_ids.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <vector>

namespace polyphony {
namespace {

// The distinct ids in ascending order and each slot's position among them, by marking the ids in
// a table as long as the largest id: a pass over the slots and one over the table, where
// at::_unique sorts the slots (3 % of a UI-ProtoMF step). Only for non-negative int64 ids below
// max(4n, 65,536), so that the table stays small next to the batch; nullopt otherwise.
std::optional<DistinctIds> distinct_by_marking(const at::Tensor& ids) {
  if (ids.scalar_type() != at::kLong) return std::nullopt;
  const auto flat = ids.contiguous().view(-1);
  const int64_t n = flat.numel();
  const int64_t* id = flat.const_data_ptr<int64_t>();
  const auto [lowest, highest] = std::minmax_element(id, id + n);
  if (*lowest < 0 || *highest >= std::max<int64_t>(4 * n, int64_t{1} << 16)) return std::nullopt;
  // Marks hold each id's slot count first, then its position among the distinct ids.
  std::vector<int64_t> position(static_cast<size_t>(*highest + 1), 0);
  for (int64_t k = 0; k < n; ++k) ++position[id[k]];
  std::vector<int64_t> distinct, counts;
  for (int64_t v = 0; v <= *highest; ++v) {
    if (position[v] == 0) continue;
    counts.push_back(position[v]);
    position[v] = static_cast<int64_t>(distinct.size());
    distinct.push_back(v);
  }
  auto slots = at::empty({n}, flat.options());
  int64_t* slot = slots.mutable_data_ptr<int64_t>();
  for (int64_t k = 0; k < n; ++k) slot[k] = position[id[k]];
  return DistinctIds{at::tensor(distinct, flat.options()), slots.view(ids.sizes()),
                     at::tensor(counts, flat.options())};
}

}  // namespace

std::optional<DistinctIds> distinct_ids(const at::Tensor& ids, double min_slots_per_id) {
  if (!ids.device().is_cpu() || ids.numel() == 0) return std::nullopt;
  auto distinct = distinct_by_marking(ids);
  if (!distinct) {
    auto [unique, slots] = at::_unique(ids, /*sorted=*/false, /*return_inverse=*/true);
    distinct = DistinctIds{unique, slots, at::bincount(slots.view(-1), {}, unique.numel())};
  }
  const auto count = static_cast<double>(distinct->ids.numel());
  if (static_cast<double>(ids.numel()) < min_slots_per_id * count) return std::nullopt;
  return distinct;
}

DistinctIds distinct_or_each(const at::Tensor& ids) {
  if (auto distinct = distinct_ids(ids)) return *distinct;
  return {ids, at::arange(ids.numel(), ids.options()), {}};
}

}  // namespace polyphony
