// distinct_ids on fresh random ids: each id once, and every slot finds its own id, by either route
// (marking in a table for ids up to a few times the slot count, at::_unique beyond).

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "models/distinct_ids.h"

namespace polyphony {
namespace {

void expect_distinct_and_slots(const at::Tensor& ids, const std::string& where) {
  const auto distinct = distinct_ids(ids, /*min_slots_per_id=*/0);
  ASSERT_TRUE(distinct.has_value()) << where;
  EXPECT_EQ(distinct->slots.sizes(), ids.sizes()) << where;
  EXPECT_TRUE(
      torch::equal(distinct->ids.index_select(0, distinct->slots.reshape(-1)), ids.reshape(-1)))
      << where;
  EXPECT_EQ(std::get<0>(at::_unique(distinct->ids)).numel(), distinct->ids.numel()) << where;
  EXPECT_TRUE(torch::equal(std::get<0>(distinct->ids.sort()), std::get<0>(at::_unique(ids))))
      << where;
}

TEST(DistinctIds, EveryIdOnceAndEverySlotFindsItsId) {
  // Ids below the marking table's bound (2-d, as a batch of negatives), at its edge, far beyond
  // it, a single id, and int32 ids (the sorting route).
  expect_distinct_and_slots(torch::randint(0, 3706, {326, 39}, torch::kLong), "326x39 of 3706");
  expect_distinct_and_slots(torch::randint(65530, 65536, {50}, torch::kLong), "at the bound");
  expect_distinct_and_slots(torch::randint(0, int64_t{1} << 40, {1000}, torch::kLong), "2^40");
  expect_distinct_and_slots(torch::full({7}, 12, torch::kLong), "one id");
  expect_distinct_and_slots(torch::randint(0, 100, {500}, torch::kInt), "int32");
}

TEST(DistinctIds, FewRepeatsAreNotWorthIt) {
  EXPECT_FALSE(distinct_ids(torch::arange(100), 1.5).has_value());
  EXPECT_TRUE(distinct_ids(torch::arange(100).remainder(10), 1.5).has_value());
  EXPECT_FALSE(distinct_ids(torch::empty({0}, torch::kLong)).has_value());
}

}  // namespace
}  // namespace polyphony
