#include "engine/eval/top_items.h"

#include <ATen/ATen.h>

#include <limits>

#include "common/error.h"
#include "engine/data/user_item_index.h"
#include "engine/eval/rank_order_top_k.h"
#include "models/recommender.h"

namespace polyphony {

TopItems top_items(Recommender& model, const at::Tensor& users, int64_t k,
                   const UserItemIndex* exclude, int64_t chunk_users) {
  if (k < 1) fail("`top_k` must be at least 1 (got {})", k);
  if (chunk_users < 1) fail("chunk_users must be at least 1 (got {})", chunk_users);
  at::NoGradGuard no_grad;
  const auto device = users.device();
  std::optional<UserItemIndex> exclude_here;
  if (exclude) exclude_here = exclude->to(device);
  std::vector<at::Tensor> items, scores;
  constexpr float kMasked = -std::numeric_limits<float>::infinity();
  for (int64_t begin = 0; begin < users.numel(); begin += chunk_users) {
    auto chunk = users.slice(0, begin, std::min(begin + chunk_users, users.numel()));
    auto s = model.score_all_items(chunk).to(at::kFloat);
    if (exclude_here) {
      auto [rows, columns] = exclude_here->entries_of(chunk);
      s.index_put_({rows, columns}, kMasked);
    }
    const int64_t kept = std::min(k, s.size(1));
    auto top = kept > 0 ? rank_order_top_k(s, kept) : at::empty({s.size(0), 0}, users.options());
    auto top_scores = s.gather(1, top);
    top.masked_fill_(top_scores == kMasked, -1);
    if (kept < k) {
      top = at::cat({top, at::full({top.size(0), k - kept}, -1, top.options())}, 1);
      top_scores =
          at::cat({top_scores, at::full({top.size(0), k - kept}, kMasked, s.options())}, 1);
    }
    items.push_back(top);
    scores.push_back(top_scores);
  }
  if (items.empty())
    return {at::empty({0, k}, users.options()),
            at::empty({0, k}, users.options().dtype(at::kFloat))};
  return {at::cat(items), at::cat(scores)};
}

}  // namespace polyphony
