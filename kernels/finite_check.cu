// CUDA path of the finiteness check: a grid-stride pass per tensor that flags a non-finite value.

#include <cuda_runtime.h>

#include <algorithm>

#include "kernels/cuda_check.cuh"
#include "kernels/finite_check_kernels.h"

namespace polyphony::kernels {
namespace {

constexpr int kThreads = 256;
constexpr int64_t kMaxBlocks = 4096;

template <typename T>
__global__ void find_nonfinite_kernel(const T* __restrict__ values, int64_t count, int32_t* found) {
  bool bad = false;
  for (int64_t k = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; k < count;
       k += static_cast<int64_t>(gridDim.x) * blockDim.x)
    bad |= !isfinite(values[k]);
  if (__syncthreads_or(bad) && threadIdx.x == 0) *found = 1;
}

template <typename T>
void launch(const T* values, int64_t count, int32_t* found, Stream stream) {
  if (count == 0) return;
  const int64_t blocks = std::min<int64_t>(kMaxBlocks, (count + kThreads - 1) / kThreads);
  find_nonfinite_kernel<<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(values, count,
                                                                                found);
  cuda_check_launch("find_nonfinite_kernel");
}

}  // namespace

void find_nonfinite_cuda(const float* values, int64_t count, int32_t* found, Stream stream) {
  launch(values, count, found, stream);
}

void find_nonfinite_cuda(const double* values, int64_t count, int32_t* found, Stream stream) {
  launch(values, count, found, stream);
}

}  // namespace polyphony::kernels
