#include "engine/split.h"

#include <ATen/ATen.h>

#include <cmath>
#include <vector>

#include "common/error.h"
#include "engine/random.h"

namespace polyphony {

Split split_per_user_ratio(const Interactions& all, int64_t num_users,
                           const RatioSplitOptions& options) {
  if (!(options.train > 0 && options.train <= 1))
    fail("split: train ratio must be in (0, 1] (got {})", options.train);
  if (!(options.valid >= 0 && options.train + options.valid <= 1 + 1e-12))
    fail("split: valid ratio must be in [0, 1 - train] (got {})", options.valid);

  const auto users = all.users.contiguous();
  const auto items = all.items.contiguous();
  const int64_t n = all.size();
  const int64_t* u = users.data_ptr<int64_t>();

  // Group positions by user (a counting sort keeps each user's original order).
  std::vector<int64_t> start(num_users + 1, 0);
  for (int64_t k = 0; k < n; ++k) {
    if (u[k] < 0 || u[k] >= num_users) fail("split: user index {} out of range", u[k]);
    ++start[u[k] + 1];
  }
  for (int64_t k = 0; k < num_users; ++k) start[k + 1] += start[k];
  std::vector<int64_t> order(n), fill(start.begin(), start.end() - 1);
  for (int64_t k = 0; k < n; ++k) order[fill[u[k]]++] = k;

  Random rng(options.seed);
  std::vector<int64_t> part(n);  // 0 train, 1 valid, 2 test
  for (int64_t user = 0; user < num_users; ++user) {
    int64_t* first = order.data() + start[user];
    const int64_t count = start[user + 1] - start[user];
    for (int64_t i = count - 1; i > 0; --i) std::swap(first[i], first[rng.below(i + 1)]);
    const int64_t n_train =
        std::max<int64_t>(1, std::llround(options.train * static_cast<double>(count)));
    const int64_t n_valid = std::min<int64_t>(
        count - n_train, std::llround(options.valid * static_cast<double>(count)));
    for (int64_t i = 0; i < count; ++i)
      part[first[i]] = i < n_train ? 0 : (i < n_train + n_valid ? 1 : 2);
  }

  auto part_tensor = at::from_blob(part.data(), {n}, at::kLong);
  auto select = [&](int64_t which) {
    auto index = (part_tensor == which).nonzero().squeeze(1);
    return Interactions{users.index_select(0, index), items.index_select(0, index)};
  };
  return Split{select(0), select(1), select(2)};
}

}  // namespace polyphony
