// CPU path of the finiteness check: chunks in parallel, each a branch-free pass over 16 partial
// sums the compiler vectorises (x − x is 0 exactly when x is finite, NaN otherwise), with no
// temporary tensor.

#include <ATen/Parallel.h>

#include <atomic>

#include "kernels/finite_check_kernels.h"

namespace polyphony::kernels {

template <typename T>
bool all_finite_cpu(const T* values, int64_t count) {
  std::atomic<bool> finite{true};
  at::parallel_for(0, count, int64_t{1} << 16, [&](int64_t begin, int64_t end) {
    constexpr int64_t kLanes = 16;
    T lanes[kLanes] = {};
    int64_t k = begin;
    for (; k + kLanes <= end; k += kLanes)
      for (int64_t l = 0; l < kLanes; ++l) lanes[l] += values[k + l] - values[k + l];
    T sum = 0;
    for (; k < end; ++k) sum += values[k] - values[k];
    for (int64_t l = 0; l < kLanes; ++l) sum += lanes[l];
    if (sum != 0) finite.store(false, std::memory_order_relaxed);  // NaN != 0 too
  });
  return finite.load();
}

template bool all_finite_cpu<float>(const float*, int64_t);
template bool all_finite_cpu<double>(const double*, int64_t);

}  // namespace polyphony::kernels
