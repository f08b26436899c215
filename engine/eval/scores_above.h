#pragma once
// How many items a user scored strictly above each of the user's target items: the 0-based rank
// of a test item among all unmasked items, behind the evaluator's average rank of an item group
// (the cultural-inclusivity measure, metrics.md).

#include <ATen/core/Tensor.h>

namespace polyphony {

// `scores` [C, I] and `thresholds` [C, T], floating point, on one device (pad the unused
// thresholds of a row with +inf). Returns int64 [C, T]: entry (r, t) counts the j with
// scores[r, j] > thresholds[r, t]. NaN is above nothing and nothing is above NaN. On the CPU,
// rows in parallel: each threshold against the whole row when a row has few, else one pass over
// the row against its sorted thresholds; elsewhere count_scored_above_by_sorting.
at::Tensor count_scored_above(const at::Tensor& scores, const at::Tensor& thresholds);

// The same count from a sort of every row and a binary search of each threshold: the path for
// devices where sorting is cheap (CUDA), public so that the two are tested against each other.
at::Tensor count_scored_above_by_sorting(const at::Tensor& scores, const at::Tensor& thresholds);

}  // namespace polyphony
