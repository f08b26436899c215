#include "engine/data/split.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include <fmt/format.h>

#include "common/error.h"
#include "engine/data/random.h"
#include "engine/io/hashing.h"

namespace polyphony {
namespace {

constexpr uint8_t kTrain = 0, kValid = 1, kTest = 2, kDropped = 3;

void check_shares(const SplitOptions& o) {
  if (!(o.train > 0 && o.train <= 1))
    fail("`split` {}: the train share must be in (0, 1] (got {})", o.spec(), o.train);
  if (!(o.valid >= 0 && o.train + o.valid <= 1 + 1e-12))
    fail("`split` {}: the valid share must be in [0, 1 - train] (got {})", o.spec(), o.valid);
}

// Positions of each user's interactions, grouped by user in the order `order` gives them.
struct UserRuns {
  std::vector<int64_t> start;  // [U + 1]
  std::vector<int64_t> position;
};

UserRuns group_by_user(const at::Tensor& users, const std::vector<int64_t>& order,
                       int64_t num_users) {
  const auto u_cpu = users.contiguous();
  const int64_t* u = u_cpu.data_ptr<int64_t>();
  UserRuns runs{std::vector<int64_t>(num_users + 1, 0), std::vector<int64_t>(order.size())};
  for (int64_t k : order) ++runs.start[u[k] + 1];
  for (int64_t k = 0; k < num_users; ++k) runs.start[k + 1] += runs.start[k];
  std::vector<int64_t> fill(runs.start.begin(), runs.start.end() - 1);
  for (int64_t k : order) runs.position[fill[u[k]]++] = k;
  return runs;
}

// `user`'s positions in `runs`, shuffled by `rng` (Fisher-Yates: the same seed, the same order).
std::vector<int64_t> shuffled_positions(const UserRuns& runs, int64_t user, Random& rng) {
  std::vector<int64_t> mine(runs.position.begin() + runs.start[user],
                            runs.position.begin() + runs.start[user + 1]);
  for (auto i = static_cast<int64_t>(mine.size()) - 1; i > 0; --i)
    std::swap(mine[i], mine[rng.below(i + 1)]);
  return mine;
}

std::vector<int64_t> identity(int64_t n) {
  std::vector<int64_t> order(n);
  for (int64_t k = 0; k < n; ++k) order[k] = k;
  return order;
}

std::vector<int64_t> to_vector(const at::Tensor& t) {
  const auto c = t.contiguous();
  return {c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel()};
}

std::vector<uint8_t> split_ratio(const Dataset& d, const SplitOptions& o) {
  check_shares(o);
  const int64_t n = d.interactions.size();
  const auto runs = group_by_user(d.interactions.users, identity(n), d.num_users);
  Random rng(o.seed);
  std::vector<uint8_t> part(n);
  for (int64_t user = 0; user < d.num_users; ++user) {
    const auto mine = shuffled_positions(runs, user, rng);
    const auto count = static_cast<int64_t>(mine.size());
    const int64_t n_train =
        std::max<int64_t>(1, std::llround(o.train * static_cast<double>(count)));
    const int64_t n_valid =
        std::min<int64_t>(count - n_train, std::llround(o.valid * static_cast<double>(count)));
    for (int64_t i = 0; i < count; ++i)
      part[mine[i]] = i < n_train ? kTrain : (i < n_train + n_valid ? kValid : kTest);
  }
  return part;
}

std::vector<uint8_t> split_leave_one_out(const Dataset& d, const SplitOptions& o) {
  const int64_t n = d.interactions.size();
  at::Tensor key;
  if (o.latest) {
    if (!d.interactions.timestamps.defined())
      fail("`split` loo:last needs timestamps, and {} has none (use loo:random)", d.source);
    key = d.interactions.timestamps;
  } else {
    Random rng(o.seed);
    std::vector<double> random_key(n);
    for (auto& r : random_key) r = rng.uniform();
    key = at::from_blob(random_key.data(), {n}, at::kDouble).clone();
  }
  // Each user's interactions by key; ties keep file order.
  const auto order = to_vector(std::get<1>(key.sort(/*stable=*/std::optional<bool>(true), 0)));
  const auto runs = group_by_user(d.interactions.users, order, d.num_users);
  std::vector<uint8_t> part(n, kTrain);
  for (int64_t user = 0; user < d.num_users; ++user) {
    const int64_t first = runs.start[user], count = runs.start[user + 1] - first;
    if (count == 0) continue;
    if (count == 1)
      fail(
          "`split` {}: user '{}' has a single interaction, which leaves no training data; "
          "remove such users with `min_user_interactions` 2 (or 3 for a validation item)",
          o.spec(), d.user_ids[user]);
    part[runs.position[first + count - 1]] = kTest;
    if (count >= 3) part[runs.position[first + count - 2]] = kValid;
  }
  return part;
}

std::vector<uint8_t> split_temporal(const Dataset& d, const SplitOptions& o) {
  check_shares(o);
  if (!d.interactions.timestamps.defined())
    fail("`split` {} needs timestamps, and {} has none", o.spec(), d.source);
  const int64_t n = d.interactions.size();
  const auto order = to_vector(
      std::get<1>(d.interactions.timestamps.sort(/*stable=*/std::optional<bool>(true), 0)));
  const int64_t n_train = std::max<int64_t>(1, std::llround(o.train * static_cast<double>(n)));
  const int64_t n_valid =
      std::min<int64_t>(n - n_train, std::llround(o.valid * static_cast<double>(n)));
  std::vector<uint8_t> part(n);
  for (int64_t r = 0; r < n; ++r)
    part[order[r]] = r < n_train ? kTrain : (r < n_train + n_valid ? kValid : kTest);
  return part;
}

std::vector<uint8_t> split_predefined(const Dataset& d, const SplitOptions& o) {
  if (!d.predefined_part.defined())
    fail("`split` {}: {} defines no split (the lightgcn format and recbole's benchmark files do)",
         o.spec(), d.source);
  const auto c = d.predefined_part.contiguous();
  std::vector<uint8_t> part(c.data_ptr<uint8_t>(), c.data_ptr<uint8_t>() + c.numel());
  if (o.valid == 0) return part;
  // A validation part carved out of each user's training interactions, seeded as the ratio
  // split, so that an epoch can be chosen without looking at the test file. A user keeps at
  // least one training interaction.
  if (!(o.valid > 0 && o.valid < 1))
    fail("`split` {}: the validation share must lie in (0, 1) (got {})", o.spec(), o.valid);
  if (std::find(part.begin(), part.end(), kValid) != part.end())
    fail("`split` {}: {} has a validation file of its own; use `split` files", o.spec(), d.source);
  std::vector<int64_t> train_positions;
  for (int64_t k = 0; k < static_cast<int64_t>(part.size()); ++k)
    if (part[k] == kTrain) train_positions.push_back(k);
  const auto runs = group_by_user(d.interactions.users, train_positions, d.num_users);
  Random rng(o.seed);
  for (int64_t user = 0; user < d.num_users; ++user) {
    const auto mine = shuffled_positions(runs, user, rng);
    const auto count = static_cast<int64_t>(mine.size());
    const int64_t n_valid = std::min<int64_t>(std::max<int64_t>(count - 1, 0),
                                              std::llround(o.valid * static_cast<double>(count)));
    for (int64_t i = 0; i < n_valid; ++i) part[mine[i]] = kValid;
  }
  return part;
}

}  // namespace

std::string SplitOptions::spec() const {
  switch (kind) {
    case Kind::ratio:
      return fmt::format("ratio:{},{}", train, valid);
    case Kind::leave_one_out:
      return latest ? "loo:last" : "loo:random";
    case Kind::temporal:
      return fmt::format("temporal:{},{}", train, valid);
    case Kind::predefined:
      return valid > 0 ? fmt::format("files:{}", valid) : "files";
  }
  return "";
}

Split make_split(const Dataset& d, const SplitOptions& o) {
  std::vector<uint8_t> part;
  switch (o.kind) {
    case SplitOptions::Kind::ratio:
      part = split_ratio(d, o);
      break;
    case SplitOptions::Kind::leave_one_out:
      part = split_leave_one_out(d, o);
      break;
    case SplitOptions::Kind::temporal:
      part = split_temporal(d, o);
      break;
    case SplitOptions::Kind::predefined:
      part = split_predefined(d, o);
      break;
  }
  const int64_t n = d.interactions.size();
  auto part_tensor = at::from_blob(part.data(), {n}, at::kByte).clone();

  // Held-out interactions of users without training data: dropped in a temporal cut (such users
  // cannot be evaluated), an error anywhere else.
  const auto in_train =
      at::zeros({d.num_users}, at::kBool)
          .index_fill_(0, d.interactions.users.index({part_tensor == kTrain}), true);
  const auto cold =
      (part_tensor != kTrain) & at::logical_not(in_train.index_select(0, d.interactions.users));
  Split s;
  if (cold.any().item<bool>()) {
    if (o.kind != SplitOptions::Kind::temporal) {
      const int64_t k = cold.nonzero()[0][0].item<int64_t>();
      const int64_t user = d.interactions.users[k].item<int64_t>();
      fail("{}: user '{}' has held-out interactions but no training data under `split` {}",
           d.source, d.user_ids[user], o.spec());
    }
    s.dropped = cold.sum().item<int64_t>();
    part_tensor.masked_fill_(cold, kDropped);
  }
  s.part = part_tensor;
  s.fingerprint = xxh3_64(part_tensor.data_ptr<uint8_t>(), static_cast<size_t>(n));
  auto select = [&](uint8_t which) {
    return d.interactions.select((part_tensor == which).nonzero().squeeze(1));
  };
  s.train = select(kTrain);
  s.valid = select(kValid);
  s.test = select(kTest);
  return s;
}

}  // namespace polyphony
