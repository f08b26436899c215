#include "models/distinct_ids.h"

#include <ATen/ATen.h>

namespace polyphony {

std::optional<DistinctIds> distinct_ids(const at::Tensor& ids, double min_slots_per_id) {
  if (!ids.device().is_cpu() || ids.numel() == 0) return std::nullopt;
  auto [distinct, slots] = at::_unique(ids, /*sorted=*/false, /*return_inverse=*/true);
  if (static_cast<double>(ids.numel()) < min_slots_per_id * static_cast<double>(distinct.numel()))
    return std::nullopt;
  return DistinctIds{distinct, slots};
}

DistinctIds distinct_or_each(const at::Tensor& ids) {
  if (auto distinct = distinct_ids(ids)) return *distinct;
  return {ids, at::arange(ids.numel(), ids.options())};
}

}  // namespace polyphony
