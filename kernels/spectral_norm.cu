// CUDA path of batched spectral-norm estimation (float32): one block per matrix. The matrix is
// staged in shared memory when it fits (a 64×64 matrix is 16 KB), so every power iteration reads
// it from shared memory; u, v and the norms stay on the chip. Same meaning as spectral_norm_cpu.

#include <cuda_runtime.h>

#include <cub/block/block_reduce.cuh>

#include "kernels/cuda_check.cuh"
#include "kernels/spectral_norm_kernels.h"

namespace polyphony::kernels {
namespace {

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;

__global__ void spectral_norm_kernel(const float* __restrict__ matrices, int m, int n,
                                     int max_iterations, float tolerance, bool warm_start,
                                     bool stage, float* __restrict__ sigma,
                                     float* __restrict__ left, float* __restrict__ right,
                                     int32_t* __restrict__ iterations) {
  using Reduce = cub::BlockReduce<float, kThreads>;
  __shared__ typename Reduce::TempStorage reduce_storage;
  __shared__ float broadcast;
  extern __shared__ float shared[];
  float* u = shared;             // [m]
  float* v = u + m;              // [n]
  float* previous = v + n;       // [n]
  float* staged = previous + n;  // [m * n] when staged
  const int64_t g = blockIdx.x;
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const float* a = matrices + g * static_cast<int64_t>(m) * n;
  if (stage) {
    for (int64_t t = tid; t < static_cast<int64_t>(m) * n; t += kThreads) staged[t] = a[t];
    a = staged;
  }

  // ‖x‖ for all threads; x is normalised in place when the norm is positive.
  auto normalize = [&](float* x, int len) {
    float partial = 0;
    for (int i = tid; i < len; i += kThreads) partial += x[i] * x[i];
    const float total = Reduce(reduce_storage).Sum(partial);
    if (tid == 0) broadcast = sqrtf(total);
    __syncthreads();
    const float norm = broadcast;
    if (norm > 0)
      for (int i = tid; i < len; i += kThreads) x[i] /= norm;
    __syncthreads();
    return norm;
  };
  auto start = [&](float* x, int len) {
    for (int i = tid; i < len; i += kThreads) x[i] = static_cast<float>(spectral_start_entry(i));
    __syncthreads();
    normalize(x, len);
  };
  auto multiply = [&]() {  // u = A v: a warp per row
    for (int i = warp; i < m; i += kWarps) {
      float s = 0;
      for (int j = lane; j < n; j += 32) s = fmaf(a[static_cast<int64_t>(i) * n + j], v[j], s);
      for (int offset = 16; offset > 0; offset >>= 1) s += __shfl_xor_sync(0xffffffffu, s, offset);
      if (lane == 0) u[i] = s;
    }
    __syncthreads();
  };
  auto multiply_transposed = [&]() {  // v = Aᵀ u: a thread per column, coalesced across threads
    for (int j = tid; j < n; j += kThreads) {
      float s = 0;
      for (int i = 0; i < m; ++i) s = fmaf(a[static_cast<int64_t>(i) * n + j], u[i], s);
      v[j] = s;
    }
    __syncthreads();
  };

  if (warm_start) {
    for (int j = tid; j < n; j += kThreads) v[j] = right[g * n + j];
  }
  __syncthreads();
  if (!warm_start || normalize(v, n) == 0) start(v, n);

  int it = 0;
  while (it < max_iterations) {
    ++it;
    multiply();
    if (normalize(u, m) == 0) break;
    for (int j = tid; j < n; j += kThreads) previous[j] = v[j];
    __syncthreads();
    multiply_transposed();
    normalize(v, n);
    float partial = 0;
    for (int j = tid; j < n; j += kThreads) partial += (v[j] - previous[j]) * (v[j] - previous[j]);
    const float moved = Reduce(reduce_storage).Sum(partial);
    if (tid == 0) broadcast = sqrtf(moved);
    __syncthreads();
    const bool converged = broadcast <= tolerance;
    __syncthreads();
    if (converged) break;
  }
  multiply();
  const float s = normalize(u, m);
  if (s == 0) start(u, m);
  for (int i = tid; i < m; i += kThreads) left[g * m + i] = u[i];
  for (int j = tid; j < n; j += kThreads) right[g * n + j] = v[j];
  if (tid == 0) {
    sigma[g] = s;
    iterations[g] = it;
  }
}

}  // namespace

void batched_spectral_norm_cuda(const float* matrices, const SpectralNormSizes& s, bool warm_start,
                                float* sigma, float* left, float* right, int32_t* iterations,
                                Stream stream) {
  if (s.batch == 0) return;
  const size_t vectors = sizeof(float) * (s.rows + 2 * s.cols);
  const size_t staged = sizeof(float) * s.rows * s.cols;
  const auto limit = static_cast<size_t>(max_shared_memory_per_block()) - 1024;  // static part
  const bool stage = vectors + staged <= limit;
  if (vectors > limit) throw std::runtime_error("batched spectral norm: matrix too large");
  const size_t bytes = vectors + (stage ? staged : 0);
  cuda_check(cudaFuncSetAttribute(spectral_norm_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                  static_cast<int>(bytes)),
             "cudaFuncSetAttribute(spectral_norm_kernel)");
  spectral_norm_kernel<<<static_cast<unsigned>(s.batch), kThreads, bytes, stream>>>(
      matrices, static_cast<int>(s.rows), static_cast<int>(s.cols),
      static_cast<int>(s.max_iterations), static_cast<float>(s.tolerance), warm_start, stage, sigma,
      left, right, iterations);
  cuda_check_launch("spectral_norm_kernel");
}

}  // namespace polyphony::kernels
