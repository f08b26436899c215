#pragma once
// Raw kernels of the finiteness check (kernels/finite_check.h): no Torch types.

#include <cstdint>

#include "kernels/common.h"

namespace polyphony::kernels {

// Whether every one of `count` values is finite (neither ±inf nor NaN).
template <typename T>
bool all_finite_cpu(const T* values, int64_t count);

// Sets *found to 1 when a value is not finite (leaves it otherwise); float32 and float64.
void find_nonfinite_cuda(const float* values, int64_t count, int32_t* found, Stream stream);
void find_nonfinite_cuda(const double* values, int64_t count, int32_t* found, Stream stream);

}  // namespace polyphony::kernels
