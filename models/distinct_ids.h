#pragma once
// A batch scores each positive with its negatives, so the same item fills many slots (326 × 39
// slots over at most 3,706 ML-1M items in UI-ProtoMF's reference setting). A per-entity transform
// (shifted cosine against the prototypes, the top-k filter, the projection) is then cheaper
// computed once per distinct id and gathered back to the slots; autograd sums each id's slot
// gradients through the gather. Same values, gradients equal up to float summation order.

#include <optional>

#include <ATen/core/Tensor.h>

namespace polyphony {

struct DistinctIds {
  at::Tensor ids;     // int64 [m], each id once
  at::Tensor slots;   // int64 [n]: original[k] == ids[slots[k]]
  at::Tensor counts;  // int64 [m]: the slots of each id; undefined when each id fills one slot
};

// The distinct ids of `ids` [n] with each slot's position among them, when there are at least
// `min_slots_per_id` slots per distinct id; nullopt otherwise, and on devices other than the CPU
// (finding the count reads it back to the host, which a CUDA step avoids).
std::optional<DistinctIds> distinct_ids(const at::Tensor& ids, double min_slots_per_id = 1.5);

// distinct_ids(ids) when it finds repeats worth it, else each id in its own slot (ids as they are,
// slots 0..n-1): the rows to compute and where each slot finds its row, either way.
DistinctIds distinct_or_each(const at::Tensor& ids);

// transform(ids), a tensor with one row per id, computed once per distinct id and gathered back to
// the slots when distinct_ids finds that cheaper, else computed per slot.
template <typename Transform>
at::Tensor per_distinct_id(const at::Tensor& ids, Transform&& transform) {
  const auto distinct = distinct_ids(ids);
  if (!distinct) return transform(ids);
  return transform(distinct->ids).index_select(0, distinct->slots);
}

}  // namespace polyphony
