#include "engine/eval/scores_above.h"

#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <limits>
#include <numeric>
#include <vector>

namespace polyphony {
namespace {

void check_inputs(const at::Tensor& scores, const at::Tensor& thresholds) {
  TORCH_CHECK(scores.dim() == 2 && thresholds.dim() == 2, "count_scored_above: expected 2-d ",
              "scores and thresholds, got ", scores.sizes(), " and ", thresholds.sizes());
  TORCH_CHECK(scores.size(0) == thresholds.size(0), "count_scored_above: ", scores.size(0),
              " rows of scores, ", thresholds.size(0), " rows of thresholds");
  TORCH_CHECK(scores.device() == thresholds.device(), "count_scored_above: scores on ",
              scores.device(), ", thresholds on ", thresholds.device());
  TORCH_CHECK(
      at::isFloatingType(scores.scalar_type()) && scores.scalar_type() == thresholds.scalar_type(),
      "count_scored_above: expected one floating-point type, got ", scores.scalar_type(), " and ",
      thresholds.scalar_type());
}

// A NaN threshold has nothing above it, like +inf; a NaN score is above nothing, like -inf.
at::Tensor thresholds_without_nan(const at::Tensor& thresholds) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  return thresholds.nan_to_num(kInf, kInf, -kInf).contiguous();
}

// Up to this many thresholds in a row, each threshold is compared with every item (a loop over
// the items that the compiler vectorises); beyond, each item finds its place among the sorted
// thresholds by binary search, which costs log T instead of T per item.
constexpr int64_t kDirectCountWidth = 128;

// Entries of row[0, n) greater than x (NaN is greater than nothing).
template <typename T>
int64_t count_greater(const T* row, int64_t n, T x) {
  int32_t greater = 0;
  for (int64_t j = 0; j < n; ++j) greater += row[j] > x ? 1 : 0;
  return greater;
}

// Number of entries of sorted[0, n), n >= 1, below x, by a binary search without branches (the
// comparison becomes a conditional move: a row's items arrive in no order, so a branch on it
// would be mispredicted half the time).
template <typename T>
int64_t count_below(const T* sorted, int64_t n, T x) {
  const T* base = sorted;
  while (n > 1) {
    const int64_t half = n / 2;
    base = base[half] < x ? base + half : base;
    n -= half;
  }
  return (base - sorted) + (*base < x ? 1 : 0);
}

// One row by binary search: histogram[b] counts the items with exactly b thresholds below them,
// and an item is above sorted[t] exactly when more than t thresholds are below it.
template <typename T>
void count_by_histogram(const T* row_scores, const T* row_thresholds, int64_t* row_out,
                        int64_t items, int64_t width, std::vector<int64_t>& order,
                        std::vector<T>& sorted, std::vector<int64_t>& histogram) {
  order.resize(width);
  sorted.resize(width);
  histogram.assign(width + 1, 0);
  std::iota(order.begin(), order.end(), int64_t{0});
  std::sort(order.begin(), order.end(),
            [&](int64_t a, int64_t b) { return row_thresholds[a] < row_thresholds[b]; });
  for (int64_t t = 0; t < width; ++t) sorted[t] = row_thresholds[order[t]];
  // +inf thresholds (the padding of short rows) have nothing above them and are below nothing:
  // only the finite ones are searched.
  const int64_t finite =
      std::lower_bound(sorted.begin(), sorted.end(), std::numeric_limits<T>::infinity()) -
      sorted.begin();
  for (int64_t j = 0; j < items; ++j)
    ++histogram[count_below(sorted.data(), finite, row_scores[j])];
  for (int64_t t = finite; t < width; ++t) row_out[order[t]] = 0;
  int64_t above = 0;
  for (int64_t t = finite - 1; t >= 0; --t) {
    above += histogram[t + 1];
    row_out[order[t]] = above;
  }
}

template <typename T>
void count_on_cpu(const T* scores, const T* thresholds, int64_t* out, int64_t rows, int64_t items,
                  int64_t width) {
  constexpr T kInf = std::numeric_limits<T>::infinity();
  at::parallel_for(0, rows, 8, [&](int64_t begin, int64_t end) {
    std::vector<int64_t> order, histogram;
    std::vector<T> sorted;
    for (int64_t r = begin; r < end; ++r) {
      const T* row_scores = scores + r * items;
      const T* row_thresholds = thresholds + r * width;
      int64_t* row_out = out + r * width;
      const auto finite = std::count_if(row_thresholds, row_thresholds + width,
                                        [kInf](T threshold) { return threshold != kInf; });
      if (finite > kDirectCountWidth) {
        count_by_histogram(row_scores, row_thresholds, row_out, items, width, order, sorted,
                           histogram);
        continue;
      }
      for (int64_t t = 0; t < width; ++t)
        row_out[t] =
            row_thresholds[t] == kInf ? 0 : count_greater(row_scores, items, row_thresholds[t]);
    }
  });
}

}  // namespace

at::Tensor count_scored_above(const at::Tensor& scores, const at::Tensor& thresholds) {
  if (!scores.device().is_cpu()) return count_scored_above_by_sorting(scores, thresholds);
  check_inputs(scores, thresholds);
  auto s = scores.contiguous();
  auto t = thresholds_without_nan(thresholds);
  auto out = at::empty(t.sizes(), t.options().dtype(at::kLong));
  AT_DISPATCH_FLOATING_TYPES(s.scalar_type(), "count_scored_above_cpu", [&] {
    count_on_cpu(s.data_ptr<scalar_t>(), t.data_ptr<scalar_t>(), out.data_ptr<int64_t>(), s.size(0),
                 s.size(1), t.size(1));
  });
  return out;
}

at::Tensor count_scored_above_by_sorting(const at::Tensor& scores, const at::Tensor& thresholds) {
  check_inputs(scores, thresholds);
  constexpr double kInf = std::numeric_limits<double>::infinity();
  auto sorted = std::get<0>(scores.nan_to_num(-kInf, kInf, -kInf).sort(1));  // ascending
  auto at_or_below = at::searchsorted(sorted, thresholds_without_nan(thresholds),
                                      /*out_int32=*/false, /*right=*/true);
  return scores.size(1) - at_or_below;
}

}  // namespace polyphony
