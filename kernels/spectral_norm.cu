// CUDA path of batched spectral-norm estimation (float32): one block per matrix. The matrix is
// staged in shared memory when it fits (a 64×64 matrix is 16 KB), so every power iteration reads
// it from shared memory; the vectors and the norms stay on the chip. Same meaning as
// spectral_norm_cpu, for the plain matrices and for the Gram form of the factorised σ₁.

#include <cuda_runtime.h>

#include <cub/block/block_reduce.cuh>

#include "kernels/cuda_check.cuh"
#include "kernels/spectral_norm_kernels.h"

namespace polyphony::kernels {
namespace {

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;

using Reduce = cub::BlockReduce<float, kThreads>;

struct BlockScratch {
  typename Reduce::TempStorage reduce;
  float broadcast;
};

// The sum of every thread's `partial`, for all threads.
__device__ float block_sum(float partial, BlockScratch& scratch) {
  const float total = Reduce(scratch.reduce).Sum(partial);
  if (threadIdx.x == 0) scratch.broadcast = total;
  __syncthreads();
  const float result = scratch.broadcast;
  __syncthreads();  // the scratch may be used again at once
  return result;
}

// ‖x‖ for all threads; x is normalised in place when the norm is positive.
__device__ float block_normalize(float* x, int len, BlockScratch& scratch) {
  float partial = 0;
  for (int i = threadIdx.x; i < len; i += kThreads) partial += x[i] * x[i];
  const float norm = sqrtf(block_sum(partial, scratch));
  if (norm > 0)
    for (int i = threadIdx.x; i < len; i += kThreads) x[i] /= norm;
  __syncthreads();
  return norm;
}

// x = the fixed starting vector, normalised.
__device__ void block_start(float* x, int len, BlockScratch& scratch) {
  for (int i = threadIdx.x; i < len; i += kThreads)
    x[i] = static_cast<float>(spectral_start_entry(i));
  __syncthreads();
  block_normalize(x, len, scratch);
}

// x = the saved vector of the last call, normalised, when warm and not zero; else the fixed start.
__device__ void block_warm_start(float* x, const float* saved, int len, bool warm,
                                 BlockScratch& scratch) {
  if (warm)
    for (int i = threadIdx.x; i < len; i += kThreads) x[i] = saved[i];
  __syncthreads();
  if (!warm || block_normalize(x, len, scratch) == 0) block_start(x, len, scratch);
}

// u = A v for A [m, n] row-major: a warp per row.
__device__ void block_multiply(const float* a, const float* v, int m, int n, float* u) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  for (int i = warp; i < m; i += kWarps) {
    float s = 0;
    for (int j = lane; j < n; j += 32) s = fmaf(a[static_cast<int64_t>(i) * n + j], v[j], s);
    for (int offset = 16; offset > 0; offset >>= 1) s += __shfl_xor_sync(0xffffffffu, s, offset);
    if (lane == 0) u[i] = s;
  }
  __syncthreads();
}

// v = Aᵀ u: a thread per column, coalesced across threads.
__device__ void block_multiply_transposed(const float* a, const float* u, int m, int n, float* v) {
  for (int j = threadIdx.x; j < n; j += kThreads) {
    float s = 0;
    for (int i = 0; i < m; ++i) s = fmaf(a[static_cast<int64_t>(i) * n + j], u[i], s);
    v[j] = s;
  }
  __syncthreads();
}

// Copies `count` floats to shared memory and returns where they are.
__device__ const float* stage_in(const float* source, int64_t count, float* staged) {
  for (int64_t t = threadIdx.x; t < count; t += kThreads) staged[t] = source[t];
  __syncthreads();
  return staged;
}

__global__ void spectral_norm_kernel(const float* __restrict__ matrices, int m, int n,
                                     int max_iterations, float tolerance, bool warm_start,
                                     bool stage, float* __restrict__ sigma,
                                     float* __restrict__ left, float* __restrict__ right,
                                     int32_t* __restrict__ iterations) {
  __shared__ BlockScratch scratch;
  extern __shared__ float shared[];
  // u first and `previous` after it: the compiler reads u 16 bytes at a time, past its end in
  // the last group (values unused), which must not touch v while v is written.
  float* u = shared;        // [m]
  float* previous = u + m;  // [n]
  float* v = previous + n;  // [n]
  float* staged = v + n;    // [m * n] when staged
  const int64_t g = blockIdx.x;
  const int tid = threadIdx.x;
  const float* a = matrices + g * static_cast<int64_t>(m) * n;
  if (stage) a = stage_in(a, static_cast<int64_t>(m) * n, staged);

  block_warm_start(v, right + g * n, n, warm_start, scratch);

  int it = 0;
  while (it < max_iterations) {
    ++it;
    block_multiply(a, v, m, n, u);
    if (block_normalize(u, m, scratch) == 0) break;
    for (int j = tid; j < n; j += kThreads) previous[j] = v[j];
    __syncthreads();
    block_multiply_transposed(a, u, m, n, v);
    block_normalize(v, n, scratch);
    float partial = 0;
    for (int j = tid; j < n; j += kThreads) partial += (v[j] - previous[j]) * (v[j] - previous[j]);
    if (sqrtf(block_sum(partial, scratch)) <= tolerance) break;
  }
  block_multiply(a, v, m, n, u);
  const float s = block_normalize(u, m, scratch);
  if (s == 0) block_start(u, m, scratch);
  for (int i = tid; i < m; i += kThreads) left[g * m + i] = u[i];
  for (int j = tid; j < n; j += kThreads) right[g * n + j] = v[j];
  if (tid == 0) {
    sigma[g] = s;
    iterations[g] = it;
  }
}

// One block per group g: power iteration on G_g H (both symmetric, so a warp-per-row product
// reads rows, coalesced), then σ₁ and the gradient vectors (spectral_norm_kernels.h).
__global__ void gram_spectral_norm_kernel(
    const float* __restrict__ grams, const float* __restrict__ item_gram, int d, int max_iterations,
    float tolerance, bool warm_start, bool stage, float* __restrict__ sigma,
    float* __restrict__ direction, float* __restrict__ user_side, float* __restrict__ item_side,
    int32_t* __restrict__ iterations) {
  __shared__ BlockScratch scratch;
  extern __shared__ float shared[];
  float* x = shared;      // [d]
  float* t = x + d;       // [d]
  float* y = t + d;       // [d]
  float* staged = y + d;  // [2 d²] when staged
  const int64_t g = blockIdx.x;
  const int tid = threadIdx.x;
  const int64_t square = static_cast<int64_t>(d) * d;
  const float* gram = grams + g * square;
  const float* h = item_gram;
  if (stage) {
    gram = stage_in(gram, square, staged);
    h = stage_in(h, square, staged + square);
  }
  block_warm_start(x, direction + g * d, d, warm_start, scratch);

  int it = 0;
  while (it < max_iterations) {
    ++it;
    block_multiply(h, x, d, d, t);
    block_multiply(gram, t, d, d, y);
    if (block_normalize(y, d, scratch) == 0) break;  // G_g H x = 0: zero factors
    float partial = 0;
    for (int j = tid; j < d; j += kThreads) partial += (y[j] - x[j]) * (y[j] - x[j]);
    const float moved = sqrtf(block_sum(partial, scratch));
    for (int j = tid; j < d; j += kThreads) x[j] = y[j];
    __syncthreads();
    if (moved <= tolerance) break;
  }
  block_multiply(h, x, d, d, t);
  block_multiply(gram, t, d, d, y);
  float xt_part = 0, tgt_part = 0;
  for (int j = tid; j < d; j += kThreads) {
    xt_part += x[j] * t[j];
    tgt_part += t[j] * y[j];
  }
  const float xt = block_sum(xt_part, scratch), tgt = block_sum(tgt_part, scratch);
  const bool positive = xt > 0 && tgt > 0;
  const float s = positive ? sqrtf(tgt / xt) : 0.0f;
  const float root = positive ? sqrtf(xt) : 1.0f;
  for (int j = tid; j < d; j += kThreads) {
    direction[g * d + j] = x[j];
    user_side[g * d + j] = positive ? t[j] / root : 0.0f;
    item_side[g * d + j] = positive ? x[j] * s / root : 0.0f;
  }
  if (tid == 0) {
    sigma[g] = s;
    iterations[g] = it;
  }
}

// Dynamic shared memory: the vectors, plus the staged matrices when they fit.
size_t shared_bytes(size_t vectors, size_t matrices, bool& stage, const char* what) {
  const auto limit = static_cast<size_t>(max_shared_memory_per_block()) - sizeof(BlockScratch);
  if (vectors > limit) throw std::runtime_error(std::string(what) + ": matrix too large");
  stage = vectors + matrices <= limit;
  return vectors + (stage ? matrices : 0);
}

}  // namespace

void batched_spectral_norm_cuda(const float* matrices, const SpectralNormSizes& s, bool warm_start,
                                float* sigma, float* left, float* right, int32_t* iterations,
                                Stream stream) {
  if (s.batch == 0) return;
  bool stage = false;
  const size_t bytes =
      shared_bytes(sizeof(float) * (s.rows + 2 * s.cols), sizeof(float) * s.rows * s.cols, stage,
                   "batched spectral norm");
  cuda_check(cudaFuncSetAttribute(spectral_norm_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                  static_cast<int>(bytes)),
             "cudaFuncSetAttribute(spectral_norm_kernel)");
  spectral_norm_kernel<<<static_cast<unsigned>(s.batch), kThreads, bytes, stream>>>(
      matrices, static_cast<int>(s.rows), static_cast<int>(s.cols),
      static_cast<int>(s.max_iterations), static_cast<float>(s.tolerance), warm_start, stage, sigma,
      left, right, iterations);
  cuda_check_launch("spectral_norm_kernel");
}

void gram_spectral_norm_cuda(const float* grams, const float* item_gram,
                             const GramSpectralNormSizes& s, bool warm_start, float* sigma,
                             float* direction, float* user_side, float* item_side,
                             int32_t* iterations, Stream stream) {
  if (s.batch == 0) return;
  bool stage = false;
  const size_t bytes = shared_bytes(sizeof(float) * 3 * s.dim, sizeof(float) * 2 * s.dim * s.dim,
                                    stage, "factorised spectral norm");
  cuda_check(
      cudaFuncSetAttribute(gram_spectral_norm_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                           static_cast<int>(bytes)),
      "cudaFuncSetAttribute(gram_spectral_norm_kernel)");
  gram_spectral_norm_kernel<<<static_cast<unsigned>(s.batch), kThreads, bytes, stream>>>(
      grams, item_gram, static_cast<int>(s.dim), static_cast<int>(s.max_iterations),
      static_cast<float>(s.tolerance), warm_start, stage, sigma, direction, user_side, item_side,
      iterations);
  cuda_check_launch("gram_spectral_norm_kernel");
}

}  // namespace polyphony::kernels
