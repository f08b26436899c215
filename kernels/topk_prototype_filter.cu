// CUDA path of the top-k prototype filter (float32). Same meaning as topk_prototype_filter_cpu.
//
// Forward, fused: one warp per entity row. The block stages the prototypes in shared memory (in
// chunks when they do not fit), each lane computes the shifted cosine of its prototypes against
// the row, the row's L similarities stay in shared memory, and k rounds of a warp argmax (ties to
// the lower index) select the kept entries. Nothing of size rows × L reaches device memory.
//
// Backward: a warp per row for the entity gradient; for the prototype gradient each block sums
// its rows' contributions in shared memory and adds them to device memory once, so rows that
// pick the same prototype contend only inside a block; a last pass applies the normalisation.

#include <cuda_runtime.h>

#include <algorithm>
#include <cfloat>
#include <climits>
#include <cstdint>

#include "kernels/cuda_check.cuh"
#include "kernels/topk_prototype_filter_kernels.h"

namespace polyphony::kernels {
namespace {

constexpr int kWarps = 8;
constexpr int kThreads = kWarps * 32;
constexpr unsigned kFullMask = 0xffffffffu;

__device__ __forceinline__ float warp_sum(float x) {
  for (int offset = 16; offset > 0; offset >>= 1) x += __shfl_xor_sync(kFullMask, x, offset);
  return x;
}

// Argmax over the warp: larger value first, then lower index.
__device__ __forceinline__ void warp_argmax(float& value, int& index) {
  for (int offset = 16; offset > 0; offset >>= 1) {
    const float v = __shfl_xor_sync(kFullMask, value, offset);
    const int i = __shfl_xor_sync(kFullMask, index, offset);
    if (v > value || (v == value && i < index)) {
      value = v;
      index = i;
    }
  }
}

// ‖x‖² of a row of `dim` floats, summed across the warp (every lane gets it).
__device__ __forceinline__ float warp_squared_norm(const float* x, int dim, int lane) {
  float sq = 0;
  for (int f = lane; f < dim; f += 32) sq += x[f] * x[f];
  return warp_sum(sq);
}

__device__ __forceinline__ float inverse_norm(float squared_norm) {
  return 1.0f / fmaxf(sqrtf(squared_norm), static_cast<float>(kNormEps));
}

// Shared memory of the forward kernel: prototypes chunk [chunk][dim + 1] (the +1 pad spreads a
// column over all banks), inverse prototype norms [L], each warp's row [dim] and similarities [L].
struct ForwardLayout {
  int chunk;
  size_t bytes;
};

ForwardLayout forward_layout(const TopkFilterSizes& s, int max_bytes) {
  const size_t fixed = sizeof(float) * (s.prototypes + kWarps * (s.dim + s.prototypes));
  const size_t per_prototype = sizeof(float) * (s.dim + 1);
  const auto fit = static_cast<int64_t>(
      (static_cast<size_t>(max_bytes) - std::min<size_t>(fixed, max_bytes)) / per_prototype);
  ForwardLayout layout;
  layout.chunk = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(s.prototypes, fit)));
  layout.bytes = fixed + per_prototype * layout.chunk;
  return layout;
}

__global__ void topk_forward_kernel(const float* __restrict__ entities,
                                    const float* __restrict__ prototypes, int64_t rows,
                                    int prototypes_count, int dim, int k, int chunk,
                                    float* __restrict__ values, int64_t* __restrict__ indices) {
  extern __shared__ float shared[];
  const int stride = dim + 1;
  float* p_chunk = shared;                     // [chunk][stride]
  float* p_inv = p_chunk + chunk * stride;     // [L]
  float* rows_buf = p_inv + prototypes_count;  // [kWarps][dim]
  float* sims_buf = rows_buf + kWarps * dim;   // [kWarps][L]
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  float* row = rows_buf + warp * dim;
  float* sim = sims_buf + warp * prototypes_count;
  const bool single_chunk = chunk >= prototypes_count;

  auto load_chunk = [&](int first, int count) {
    for (int t = threadIdx.x; t < count * dim; t += blockDim.x) {
      const int l = t / dim, f = t % dim;
      p_chunk[l * stride + f] = prototypes[static_cast<int64_t>(first + l) * dim + f];
    }
  };

  // Inverse prototype norms, once per block.
  for (int l = warp; l < prototypes_count; l += kWarps) {
    float sq = 0;
    for (int f = lane; f < dim; f += 32) {
      const float x = prototypes[static_cast<int64_t>(l) * dim + f];
      sq += x * x;
    }
    sq = warp_sum(sq);
    if (lane == 0) p_inv[l] = inverse_norm(sq);
  }
  if (single_chunk) load_chunk(0, prototypes_count);
  __syncthreads();

  for (int64_t base = static_cast<int64_t>(blockIdx.x) * kWarps; base < rows;
       base += static_cast<int64_t>(gridDim.x) * kWarps) {
    const int64_t n = base + warp;
    const bool active = n < rows;
    float a = 0;
    if (active) {
      float sq = 0;
      for (int f = lane; f < dim; f += 32) {
        const float x = entities[n * dim + f];
        row[f] = x;
        sq += x * x;
      }
      a = inverse_norm(warp_sum(sq));
    }
    __syncwarp();
    for (int first = 0; first < prototypes_count; first += chunk) {
      const int count = min(chunk, prototypes_count - first);
      if (!single_chunk) {
        __syncthreads();
        load_chunk(first, count);
        __syncthreads();
      }
      if (active) {
        for (int l = lane; l < count; l += 32) {
          const float* p = p_chunk + l * stride;
          float d = 0;
          for (int f = 0; f < dim; ++f) d = fmaf(row[f], p[f], d);
          sim[first + l] = 1.0f + d * a * p_inv[first + l];
        }
      }
    }
    __syncwarp();
    if (active) {
      for (int j = 0; j < k; ++j) {
        float best = -FLT_MAX;
        int best_index = INT_MAX;
        for (int l = lane; l < prototypes_count; l += 32) {
          const float v = sim[l];
          if (v > best || (v == best && l < best_index)) {
            best = v;
            best_index = l;
          }
        }
        warp_argmax(best, best_index);
        if (lane == 0) {
          values[n * k + j] = best;
          indices[n * k + j] = best_index;
        }
        if (best_index % 32 == lane) sim[best_index] = -FLT_MAX;  // its owner removes it
        __syncwarp();
      }
    }
    __syncwarp();
  }
}

__global__ void inverse_norms_kernel(const float* __restrict__ x, int64_t rows, int dim,
                                     float* __restrict__ out) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  for (int64_t r = static_cast<int64_t>(blockIdx.x) * kWarps + warp; r < rows;
       r += static_cast<int64_t>(gridDim.x) * kWarps) {
    const float sq = warp_squared_norm(x + r * dim, dim, lane);
    if (lane == 0) out[r] = inverse_norm(sq);
  }
}

// Entity gradient: grad_e = a (Σ_j g_j p̂_{l_j} − (Σ_j g_j cos_j) ê), a warp per row.
__global__ void entity_grad_kernel(const float* __restrict__ grad_values,
                                   const float* __restrict__ values,
                                   const int64_t* __restrict__ indices,
                                   const float* __restrict__ entities,
                                   const float* __restrict__ prototypes,
                                   const float* __restrict__ p_inv, int64_t rows, int dim, int k,
                                   float* __restrict__ grad_entities) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  for (int64_t n = static_cast<int64_t>(blockIdx.x) * kWarps + warp; n < rows;
       n += static_cast<int64_t>(gridDim.x) * kWarps) {
    const float* e = entities + n * dim;
    const float sq = warp_squared_norm(e, dim, lane);
    const float a = inverse_norm(sq);
    const bool clamped = sqrtf(sq) <= static_cast<float>(kNormEps);
    float weighted_cos = 0;
    for (int j = 0; j < k; ++j) weighted_cos += grad_values[n * k + j] * (values[n * k + j] - 1.0f);
    for (int f = lane; f < dim; f += 32) {
      float acc = 0;
      for (int j = 0; j < k; ++j) {
        const int64_t l = indices[n * k + j];
        acc = fmaf(grad_values[n * k + j] * p_inv[l], prototypes[l * dim + f], acc);
      }
      grad_entities[n * dim + f] = a * (acc - (clamped ? 0.0f : weighted_cos * e[f] * a));
    }
  }
}

// Prototype gradient, first pass: accumulators sum[l][f] = Σ g ê_n[f] and cos_sum[l] = Σ g cos
// over the kept entries (n, j) with l_j = l. Blocks own a range of rows and a chunk of
// prototypes; they sum in shared memory and add to device memory once.
__global__ void prototype_accumulate_kernel(const float* __restrict__ grad_values,
                                            const float* __restrict__ values,
                                            const int64_t* __restrict__ indices,
                                            const float* __restrict__ entities, int64_t rows,
                                            int dim, int k, int chunk, int prototypes_count,
                                            float* __restrict__ sum, float* __restrict__ cos_sum) {
  extern __shared__ float shared[];
  float* acc = shared;                 // [chunk][dim]
  float* acc_cos = acc + chunk * dim;  // [chunk]
  const int first = blockIdx.y * chunk;
  const int count = min(chunk, prototypes_count - first);
  for (int t = threadIdx.x; t < chunk * (dim + 1); t += blockDim.x) shared[t] = 0;
  __syncthreads();
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  for (int64_t n = static_cast<int64_t>(blockIdx.x) * kWarps + warp; n < rows;
       n += static_cast<int64_t>(gridDim.x) * kWarps) {
    const float* e = entities + n * dim;
    const float a = inverse_norm(warp_squared_norm(e, dim, lane));
    for (int j = 0; j < k; ++j) {
      const int l = static_cast<int>(indices[n * k + j]) - first;
      if (l < 0 || l >= count) continue;
      const float g = grad_values[n * k + j];
      for (int f = lane; f < dim; f += 32) atomicAdd(&acc[l * dim + f], g * a * e[f]);
      if (lane == 0) atomicAdd(&acc_cos[l], g * (values[n * k + j] - 1.0f));
    }
  }
  __syncthreads();
  for (int t = threadIdx.x; t < count * dim; t += blockDim.x) {
    const float v = acc[t];
    if (v != 0.0f) atomicAdd(&sum[static_cast<int64_t>(first) * dim + t], v);
  }
  for (int t = threadIdx.x; t < count; t += blockDim.x) {
    if (acc_cos[t] != 0.0f) atomicAdd(&cos_sum[first + t], acc_cos[t]);
  }
}

// Prototype gradient, last pass: grad_p = b (sum − cos_sum · p̂).
__global__ void prototype_finish_kernel(const float* __restrict__ sum,
                                        const float* __restrict__ cos_sum,
                                        const float* __restrict__ prototypes, int prototypes_count,
                                        int dim, float* __restrict__ grad_prototypes) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  for (int l = blockIdx.x * kWarps + warp; l < prototypes_count; l += gridDim.x * kWarps) {
    const float* p = prototypes + static_cast<int64_t>(l) * dim;
    const float sq = warp_squared_norm(p, dim, lane);
    const float b = inverse_norm(sq);
    const bool clamped = sqrtf(sq) <= static_cast<float>(kNormEps);
    for (int f = lane; f < dim; f += 32) {
      const int64_t t = static_cast<int64_t>(l) * dim + f;
      grad_prototypes[t] = b * (sum[t] - (clamped ? 0.0f : cos_sum[l] * p[f] * b));
    }
  }
}

int grid_for(int64_t rows, int blocks_per_sm) {
  const int64_t needed = (rows + kWarps - 1) / kWarps;
  return static_cast<int>(std::max<int64_t>(
      1, std::min<int64_t>(needed, static_cast<int64_t>(multiprocessor_count()) * blocks_per_sm)));
}

}  // namespace

void topk_filter_forward_cuda(const float* entities, const float* prototypes,
                              const TopkFilterSizes& s, float* values, int64_t* indices,
                              Stream stream) {
  if (s.rows == 0) return;
  const int max_bytes = max_shared_memory_per_block();
  const ForwardLayout layout = forward_layout(s, max_bytes);
  if (layout.bytes > static_cast<size_t>(max_bytes))
    throw std::runtime_error("top-k prototype filter: L and d too large for shared memory");
  cuda_check(cudaFuncSetAttribute(topk_forward_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                  static_cast<int>(layout.bytes)),
             "cudaFuncSetAttribute(topk_forward_kernel)");
  topk_forward_kernel<<<grid_for(s.rows, 8), kThreads, layout.bytes, stream>>>(
      entities, prototypes, s.rows, static_cast<int>(s.prototypes), static_cast<int>(s.dim),
      static_cast<int>(s.k), layout.chunk, values, indices);
  cuda_check_launch("topk_forward_kernel");
}

int64_t topk_filter_backward_workspace_floats(const TopkFilterSizes& s) {
  return s.prototypes * (s.dim + 2);  // sum [L][d], cos_sum [L], inverse norms [L]
}

void topk_filter_backward_cuda(const float* grad_values, const float* values,
                               const int64_t* indices, const float* entities,
                               const float* prototypes, const TopkFilterSizes& s,
                               float* grad_entities, float* grad_prototypes, float* workspace,
                               Stream stream) {
  const int L = static_cast<int>(s.prototypes), d = static_cast<int>(s.dim),
            k = static_cast<int>(s.k);
  float* sum = workspace;
  float* cos_sum = sum + static_cast<int64_t>(L) * d;
  float* p_inv = cos_sum + L;
  cuda_check(cudaMemsetAsync(workspace, 0, sizeof(float) * L * (d + 1), stream), "cudaMemsetAsync");
  inverse_norms_kernel<<<grid_for(L, 4), kThreads, 0, stream>>>(prototypes, L, d, p_inv);
  cuda_check_launch("inverse_norms_kernel");
  if (s.rows > 0) {
    entity_grad_kernel<<<grid_for(s.rows, 8), kThreads, 0, stream>>>(
        grad_values, values, indices, entities, prototypes, p_inv, s.rows, d, k, grad_entities);
    cuda_check_launch("entity_grad_kernel");
    // Prototype chunk: as many as fit in 48 KB of accumulators.
    const int chunk =
        std::max(1, std::min(L, static_cast<int>((48 * 1024 / sizeof(float)) / (d + 1))));
    const int chunks = (L + chunk - 1) / chunk;
    const dim3 grid(static_cast<unsigned>(grid_for(s.rows, 2)), static_cast<unsigned>(chunks));
    const size_t bytes = sizeof(float) * chunk * (d + 1);
    prototype_accumulate_kernel<<<grid, kThreads, bytes, stream>>>(
        grad_values, values, indices, entities, s.rows, d, k, chunk, L, sum, cos_sum);
    cuda_check_launch("prototype_accumulate_kernel");
  }
  prototype_finish_kernel<<<grid_for(L, 4), kThreads, 0, stream>>>(sum, cos_sum, prototypes, L, d,
                                                                   grad_prototypes);
  cuda_check_launch("prototype_finish_kernel");
}

}  // namespace polyphony::kernels
