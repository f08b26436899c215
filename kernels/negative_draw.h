#pragma once
// One negative draw, the same code on the CPU and CUDA (negative_draws_cpu.cpp,
// negative_draws.cu), so that both paths give the same items for the same key.

// PhiloxRNGEngine.h uses AT_ASSERT without including its definition: Exception.h first.
#include <c10/util/Exception.h>

#include <ATen/core/PhiloxRNGEngine.h>

#include <cstdint>

#include "kernels/common.h"
#include "kernels/negative_draws_kernels.h"

namespace polyphony::kernels {

// The first entry of [first, last) whose value exceeds `value` (std::upper_bound).
POLYPHONY_HOST_DEVICE inline int64_t upper_bound_of(const int64_t* values, int64_t first,
                                                    int64_t last, int64_t value) {
  while (first < last) {
    const int64_t middle = first + (last - first) / 2;
    if (values[middle] <= value) {
      first = middle + 1;
    } else {
      last = middle;
    }
  }
  return first;
}

// A uniform fraction in [0, 1) with 53 random bits, from two 32-bit values.
POLYPHONY_HOST_DEVICE inline double unit_fraction(uint32_t high, uint32_t low) {
  const uint64_t bits = (static_cast<uint64_t>(high) << 21) ^ (static_cast<uint64_t>(low) >> 11);
  return static_cast<double>(bits & ((uint64_t{1} << 53) - 1)) * (1.0 / 9007199254740992.0);
}

// Negative j of row b for `user`, drawn with `seed` at Philox block `offset`: r uniform in
// [0, M − W_u) is mapped to an item by adding the mass of the positives before it (one binary
// search among the user's keys, and among the item masses when they are not all 1).
POLYPHONY_HOST_DEVICE inline int64_t draw_negative(const NegativeTables& t, int64_t user,
                                                   uint64_t seed, uint64_t subsequence,
                                                   uint64_t offset) {
  at::Philox4_32 engine(seed, subsequence, offset);
  const uint32_t high = engine();
  const uint32_t low = engine();
  const double u = unit_fraction(high, low);
  const int64_t available = t.total_mass - t.user_mass[user];
  if (available <= 0)  // every item is the user's: nothing but a uniform item to give
    return static_cast<int64_t>(u * static_cast<double>(t.num_items));
  // Double precision keeps the floor exact for masses up to 2^53.
  int64_t r = static_cast<int64_t>(u * static_cast<double>(available));
  if (r > available - 1) r = available - 1;
  const int64_t first = t.indptr[user], last = t.indptr[user + 1];
  const int64_t j = upper_bound_of(t.keys, first, last, user * t.stride + r) - first;
  if (t.uniform) return r + j;
  const int64_t preceding = j > 0 ? t.positive_mass[first + j - 1] : 0;
  const int64_t item = upper_bound_of(t.cumulative, 0, t.num_items, r + preceding);
  return item < t.num_items - 1 ? item : t.num_items - 1;
}

}  // namespace polyphony::kernels
