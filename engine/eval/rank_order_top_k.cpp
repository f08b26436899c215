#include "engine/eval/rank_order_top_k.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <vector>

namespace polyphony {
namespace {

void check_inputs(const at::Tensor& scores, int64_t k) {
  TORCH_CHECK(scores.dim() == 2 && scores.scalar_type() == at::kFloat,
              "rank_order_top_k: expected float scores [rows, items], got ", scores.scalar_type(),
              " ", scores.sizes());
  TORCH_CHECK(k >= 1 && k <= scores.size(1), "rank_order_top_k: k = ", k, " for rows of ",
              scores.size(1), " items");
  TORCH_CHECK(scores.size(1) <= std::numeric_limits<int32_t>::max(), "rank_order_top_k: rows of ",
              scores.size(1), " items exceed int32 indices");
}

// A float's place in the ranking as an integer: the bits of a non-negative float order as the
// floats do, a negative one's magnitude bits are flipped, −0 counts as +0 and every NaN as the
// largest value.
int32_t order_key(float score) {
  if (std::isnan(score)) return std::numeric_limits<int32_t>::max();
  const float canonical = score + 0.0f;  // −0 → +0
  int32_t bits;
  std::memcpy(&bits, &canonical, sizeof bits);
  return bits >= 0 ? bits : bits ^ 0x7fffffff;
}

constexpr int64_t kIndexRange = int64_t{1} << 32;

// An entry's place in the ranking as one integer, larger first: order_key above 32 bits that
// hold the index reversed (the lower index ranks first among equal scores).
int64_t ranking_key(float score, int64_t index) {
  return int64_t{order_key(score)} * kIndexRange + (kIndexRange - 1 - index);
}
int64_t index_of(int64_t ranking_key) {
  return kIndexRange - 1 - (ranking_key & (kIndexRange - 1));
}

// The float whose order_key is `key` (NaN for the largest).
float score_of_order_key(int32_t key) {
  const int32_t bits = key >= 0 ? key : key ^ 0x7fffffff;
  float score;
  std::memcpy(&score, &bits, sizeof score);
  return score;
}

// The float whose order_key is the upper half of `ranking_key`.
float score_of(int64_t ranking_key) {
  return score_of_order_key(static_cast<int32_t>(ranking_key >> 32));
}

// Keeps the k best of `candidates` (more than k) and returns the worst kept.
int64_t keep_best(std::vector<int64_t>& candidates, int64_t k) {
  std::nth_element(candidates.begin(), candidates.begin() + (k - 1), candidates.end(),
                   std::greater<>());
  candidates.resize(static_cast<size_t>(k));
  return candidates.back();
}

// Adds every item from `begin` on that passes `bar` (a larger score, or NaN) to `candidates`, and
// each time 4k candidates have gathered keeps the k best and raises the bar to the worst of them.
// Items arrive by increasing index, so one that only ties with a raised bar ranks after the kept
// item holding it and is not taken. An item costs one float comparison (a branch rarely taken
// once the bar is high); NaN passes every bar but NaN, and once the bar is NaN nothing can pass.
void gather_above(const float* row, int64_t begin, int64_t items, int64_t k, float bar,
                  std::vector<int64_t>& candidates) {
  const auto capacity = static_cast<size_t>(4 * k);
  for (int64_t j = begin; j < items && !std::isnan(bar); ++j) {
    if (row[j] <= bar) continue;  // false for NaN; −0 and +0 both tie with a bar of 0
    candidates.push_back(ranking_key(row[j], j));
    if (candidates.size() == capacity) bar = score_of(keep_best(candidates, k));
  }
}

// The rank within the sample that sets the first bar (sampled_bar).
constexpr int64_t kSampleRank = 8;

// A bar that about 2k items of the row pass, from every s-th item with s = k / 4: the 8th best of
// the sample, beaten by about 8 s = 2k items when the scores come in no particular order (fewer
// than k with a small probability). Starting there, a row of N items costs N comparisons and one
// selection among about 2k, where a bar rising from the first 4k items costs a selection each
// time 4k more have passed. NaN (the sample says nothing) when k or the row is too small for a
// sample to pay.
float sampled_bar(const float* row, int64_t items, int64_t k, std::vector<int32_t>& sample) {
  const int64_t stride = 2 * k / kSampleRank;
  if (stride < 4 || items < 4 * k) return std::nanf("");
  sample.clear();
  for (int64_t j = 0; j < items; j += stride) sample.push_back(order_key(row[j]));
  std::nth_element(sample.begin(), sample.begin() + (kSampleRank - 1), sample.end(),
                   std::greater<>());
  return score_of_order_key(sample[kSampleRank - 1]);
}

// The k best of a row in rank order. The first bar comes from a sample of the row; when fewer
// than k items pass it (the sample misled, or most scores tie with it), the row is read again
// with every one of its first 4k items a candidate and the bar rising from there.
void top_k_of_row(const float* row, int64_t items, int64_t k, std::vector<int64_t>& candidates,
                  std::vector<int32_t>& sample, int64_t* out) {
  candidates.clear();
  const float bar = sampled_bar(row, items, k, sample);
  if (!std::isnan(bar)) gather_above(row, 0, items, k, bar, candidates);
  if (static_cast<int64_t>(candidates.size()) < k) {
    candidates.clear();
    const int64_t first = std::min(items, 4 * k);
    for (int64_t j = 0; j < first; ++j) candidates.push_back(ranking_key(row[j], j));
    if (first < items)
      gather_above(row, first, items, k, score_of(keep_best(candidates, k)), candidates);
  }
  if (static_cast<int64_t>(candidates.size()) > k) keep_best(candidates, k);
  std::sort(candidates.begin(), candidates.end(), std::greater<>());
  for (int64_t i = 0; i < k; ++i) out[i] = index_of(candidates[static_cast<size_t>(i)]);
}

void top_k_on_cpu(const float* scores, int64_t* out, int64_t rows, int64_t items, int64_t k) {
  at::parallel_for(0, rows, 16, [&](int64_t begin, int64_t end) {
    std::vector<int64_t> candidates;
    candidates.reserve(static_cast<size_t>(4 * k));
    std::vector<int32_t> sample;
    for (int64_t r = begin; r < end; ++r)
      top_k_of_row(scores + r * items, items, k, candidates, sample, out + r * k);
  });
}

// int64 keys [R, N] ordering each row's entries by the rule: order_key above the lower 32 bits,
// which hold the index reversed.
at::Tensor ranking_keys(const at::Tensor& scores) {
  auto bits = (scores + 0.0f).view(at::kInt).to(at::kLong);
  auto ordered = at::where(bits >= 0, bits, bits.bitwise_xor(0x7fffffff));
  ordered.masked_fill_(scores.isnan(), std::numeric_limits<int32_t>::max());
  auto index = at::arange(scores.size(1), scores.options().dtype(at::kLong));
  return ordered * kIndexRange + (kIndexRange - 1 - index);
}

at::Tensor same_score(const at::Tensor& a, const at::Tensor& b) {
  return (a == b).logical_or_(a.isnan().logical_and_(b.isnan()));
}

}  // namespace

at::Tensor rank_order_top_k(const at::Tensor& scores, int64_t k) {
  if (!scores.device().is_cpu()) return rank_order_top_k_by_topk(scores, k);
  check_inputs(scores, k);
  auto s = scores.contiguous();
  auto out = at::empty({s.size(0), k}, s.options().dtype(at::kLong));
  top_k_on_cpu(s.const_data_ptr<float>(), out.mutable_data_ptr<int64_t>(), s.size(0), s.size(1), k);
  return out;
}

// at::topk of k + 1 finds the k best scores and tells the rows whose cut-off falls inside a run
// of equal scores (the (k+1)-th ties with the k-th); only those are chosen again through
// ranking_keys. at::topk's order among equal scores is its own, so each list is then put in order
// by score, then index: a sort of k entries, only when some list holds equal scores.
at::Tensor rank_order_top_k_by_topk(const at::Tensor& scores, int64_t k) {
  check_inputs(scores, k);
  const int64_t probe = std::min(k + 1, scores.size(1));
  auto [values, items] = at::topk(scores, probe, 1);
  if (probe > k) {
    auto cut_inside_ties = same_score(values.select(1, k), values.select(1, k - 1));
    values = values.narrow(1, 0, k).contiguous();
    items = items.narrow(1, 0, k).contiguous();
    auto rows = cut_inside_ties.nonzero().squeeze(1);
    if (rows.numel() > 0) {
      auto tied = scores.index_select(0, rows);
      auto chosen = std::get<1>(at::topk(ranking_keys(tied), k, 1));
      items.index_copy_(0, rows, chosen);
      values.index_copy_(0, rows, tied.gather(1, chosen));
    }
  }
  if (k < 2 ||
      !same_score(values.narrow(1, 1, k - 1), values.narrow(1, 0, k - 1)).any().item<bool>())
    return items;
  auto [by_index, order] = items.sort(1);
  auto by_score = std::get<1>(
      ranking_keys(values.gather(1, order)).sort(/*stable=*/true, 1, /*descending=*/true));
  return by_index.gather(1, by_score);
}

}  // namespace polyphony
