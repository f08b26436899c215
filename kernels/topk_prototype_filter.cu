// CUDA path of the top-k prototype filter (float32). Same meaning as topk_prototype_filter_cpu.
//
// Forward, fused, one thread per entity row: the block stages the unit prototypes (transposed, in
// chunks when they do not fit) and its rows (transposed) in shared memory; each thread computes
// its row's shifted cosines 16 prototypes at a time in registers (each row value read once per
// 16 FMAs, the prototypes as broadcast 16-byte reads) and offers each to its own sorted list of
// k: in registers for k ≤ 32 (RegisterTopK), in shared memory beyond (offer_to_top_k, as on the
// CPU). Nothing of size rows × L reaches device memory; the lists leave the block through shared
// memory as coalesced writes.
//
// Backward: a warp per row for the entity gradient; the prototype gradient is summed per block
// over its own rows without atomics (each prototype's sums owned by one warp), and the blocks'
// partial sums are added in block order, so the gradients are the same bits on every run.

#include <cuda_runtime.h>

#include <algorithm>
#include <climits>
#include <cstdint>

#include "kernels/cuda_check.cuh"
#include "kernels/topk_prototype_filter_kernels.h"

namespace polyphony::kernels {
namespace {

constexpr int kWarps = 8;
constexpr int kThreads = kWarps * 32;
constexpr unsigned kFullMask = 0xffffffffu;
// Prototypes whose similarities a forward thread accumulates at once, in registers.
constexpr int kGroup = 16;

__device__ __forceinline__ float warp_sum(float x) {
  for (int offset = 16; offset > 0; offset >>= 1) x += __shfl_xor_sync(kFullMask, x, offset);
  return x;
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

// Shared memory of the forward kernel for `threads` rows per block and prototype chunks of
// `chunk` (a multiple of kGroup): unit prototypes transposed [dim][chunk], their inverse norms
// [chunk], the rows transposed [dim][threads + 1], each row's kept values (float) and indices
// (int) [k][threads + 1]. The +1 spreads a row's entries over all banks.
struct ForwardLayout {
  int threads = 0, chunk = 0;
  size_t bytes = 0;
};

size_t forward_bytes(const TopkFilterSizes& s, int threads, int chunk) {
  return sizeof(float) * (static_cast<size_t>(s.dim + 1) * chunk +
                          static_cast<size_t>(s.dim + 2 * s.k) * (threads + 1));
}

// All prototypes in one chunk when they fit; then the most rows per block that leave room for
// two blocks per multiprocessor, else for one; smaller chunks only when nothing else fits.
ForwardLayout forward_layout(const TopkFilterSizes& s, int max_bytes) {
  const int padded = static_cast<int>((s.prototypes + kGroup - 1) / kGroup * kGroup);
  for (int chunk = padded; chunk >= kGroup; chunk = std::max(kGroup, chunk / 2 / kGroup * kGroup)) {
    for (const size_t budget : {static_cast<size_t>(max_bytes) / 2, static_cast<size_t>(max_bytes)})
      for (const int threads : {256, 128, 64, 32})
        if (forward_bytes(s, threads, chunk) <= budget)
          return {threads, chunk, forward_bytes(s, threads, chunk)};
    if (chunk == kGroup) break;
  }
  return {};
}

// Stages prototypes [first, first + count) as unit rows, transposed, zero beyond count.
__device__ void stage_unit_prototypes(const float* __restrict__ prototypes, int first, int count,
                                      int dim, int chunk, float* unit, float* inverse) {
  const int warps = blockDim.x / 32, warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  for (int l = warp; l < count; l += warps) {
    const float sq =
        warp_squared_norm(prototypes + static_cast<int64_t>(first + l) * dim, dim, lane);
    if (lane == 0) inverse[l] = inverse_norm(sq);
  }
  __syncthreads();
  for (int i = threadIdx.x; i < chunk * dim; i += blockDim.x) {
    const int l = i / dim, f = i % dim;
    unit[f * chunk + l] =
        l < count ? prototypes[static_cast<int64_t>(first + l) * dim + f] * inverse[l] : 0.0f;
  }
  __syncthreads();
}

// A row's kept list of kCapacity entries in registers (static indices only), sorted in the
// filter's order and filled with (NaN, INT_MAX), which every real entry ranks before. An offer
// that ranks before the last entry moves the entries after its place down by one, without
// branches; the first k of the list are the k first of the row. Used for k ≤ kCapacity ≤ 32:
// the shared-memory list's insertions are dependent loads and stores, slow at larger k.
template <int kCapacity>
struct RegisterTopK {
  float values[kCapacity];
  int indices[kCapacity];

  __device__ __forceinline__ RegisterTopK() {
#pragma unroll
    for (int j = 0; j < kCapacity; ++j) {
      values[j] = __int_as_float(0x7fffffff);  // NaN
      indices[j] = INT_MAX;
    }
  }

  __device__ __forceinline__ void offer(float v, int l) {
    if (!ranks_before(v, l, values[kCapacity - 1], indices[kCapacity - 1])) return;
    bool before_next = true;  // v ranks before entry j (true for the last)
#pragma unroll
    for (int j = kCapacity - 1; j > 0; --j) {
      const bool before_previous = ranks_before(v, l, values[j - 1], indices[j - 1]);
      values[j] = before_previous ? values[j - 1] : (before_next ? v : values[j]);
      indices[j] = before_previous ? indices[j - 1] : (before_next ? l : indices[j]);
      before_next = before_previous;
    }
    if (before_next) {
      values[0] = v;
      indices[0] = l;
    }
  }
};

// kCapacity > 0: the kept list in registers (RegisterTopK), staged in shared memory only to be
// written out; 0: the list in shared memory (offer_to_top_k), for any k.
template <int kCapacity>
__global__ void __launch_bounds__(256)
    topk_forward_kernel(const float* __restrict__ entities, const float* __restrict__ prototypes,
                        int64_t rows, int prototypes_count, int dim, int k, int chunk,
                        float* __restrict__ values, int64_t* __restrict__ indices) {
  extern __shared__ float shared[];
  const int threads = blockDim.x, t = threadIdx.x, stride = threads + 1;
  float* unit = shared;                                                  // [dim][chunk]
  float* inverse = unit + dim * chunk;                                   // [chunk]
  float* row = inverse + chunk;                                          // [dim][stride]
  float* kept_values = row + dim * stride;                               // [k][stride]
  int* kept_indices = reinterpret_cast<int*>(kept_values + k * stride);  // [k][stride]
  const bool single_chunk = chunk >= prototypes_count;
  if (single_chunk)
    stage_unit_prototypes(prototypes, 0, prototypes_count, dim, chunk, unit, inverse);

  for (int64_t base = static_cast<int64_t>(blockIdx.x) * threads; base < rows;
       base += static_cast<int64_t>(gridDim.x) * threads) {
    const int tile = static_cast<int>(min(static_cast<int64_t>(threads), rows - base));
    __syncthreads();  // the previous tile's lists are written out
    // The tile's rows are contiguous: coalesced reads, transposed into shared memory.
    for (int i = t; i < tile * dim; i += threads)
      row[(i % dim) * stride + i / dim] = entities[base * dim + i];
    __syncthreads();
    const bool active = t < tile;
    float a = 0;
    if (active) {
      float sq = 0;
      for (int f = 0; f < dim; ++f) sq = fmaf(row[f * stride + t], row[f * stride + t], sq);
      a = inverse_norm(sq);
    }
    int kept = 0;
    RegisterTopK<kCapacity == 0 ? 1 : kCapacity> list;
    for (int first = 0; first < prototypes_count; first += chunk) {
      const int count = min(chunk, prototypes_count - first);
      if (!single_chunk) {
        __syncthreads();  // every thread is done with the previous chunk
        stage_unit_prototypes(prototypes, first, count, dim, chunk, unit, inverse);
      }
      if (!active) continue;
      for (int group = 0; group < count; group += kGroup) {
        float acc[kGroup];
#pragma unroll
        for (int m = 0; m < kGroup; ++m) acc[m] = 0.0f;
        for (int f = 0; f < dim; ++f) {
          const float x = row[f * stride + t];
          const float4* u = reinterpret_cast<const float4*>(unit + f * chunk + group);
#pragma unroll
          for (int q = 0; q < kGroup / 4; ++q) {
            const float4 p = u[q];
            acc[4 * q + 0] = fmaf(x, p.x, acc[4 * q + 0]);
            acc[4 * q + 1] = fmaf(x, p.y, acc[4 * q + 1]);
            acc[4 * q + 2] = fmaf(x, p.z, acc[4 * q + 2]);
            acc[4 * q + 3] = fmaf(x, p.w, acc[4 * q + 3]);
          }
        }
#pragma unroll
        for (int m = 0; m < kGroup; ++m) {
          if (group + m >= count) continue;
          const float similarity = 1.0f + acc[m] * a;
          if constexpr (kCapacity > 0) {
            list.offer(similarity, first + group + m);
          } else {
            kept = offer_to_top_k(similarity, first + group + m, kept_values + t, kept_indices + t,
                                  stride, kept, k);
          }
        }
      }
    }
    if constexpr (kCapacity > 0) {
      if (active) {
#pragma unroll
        for (int j = 0; j < kCapacity; ++j) {
          if (j < k) {
            kept_values[j * stride + t] = list.values[j];
            kept_indices[j * stride + t] = list.indices[j];
          }
        }
      }
    }
    __syncthreads();
    for (int i = t; i < tile * k; i += threads) {
      const int r = i / k, j = i % k;
      values[base * k + i] = kept_values[j * stride + r];
      indices[base * k + i] = kept_indices[j * stride + r];
    }
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

// Entity gradient: grad_e = a (Σ_j g_j p̂_{l_j} − (Σ_j g_j cos_j) ê), a warp per row; also
// writes a = 1 / ‖e‖ for the prototype pass. The row's kept entries are read 32 at a time, one per
// lane, and handed round by shuffles, so that the prototype rows' loads do not wait on the loads
// of their indices; the sum over j keeps its order.
__global__ void entity_grad_kernel(const float* __restrict__ grad_values,
                                   const float* __restrict__ values,
                                   const int64_t* __restrict__ indices,
                                   const float* __restrict__ entities,
                                   const float* __restrict__ prototypes,
                                   const float* __restrict__ p_inv, int64_t rows, int dim, int k,
                                   float* __restrict__ grad_entities, float* __restrict__ e_inv) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  for (int64_t n = static_cast<int64_t>(blockIdx.x) * kWarps + warp; n < rows;
       n += static_cast<int64_t>(gridDim.x) * kWarps) {
    const float* e = entities + n * dim;
    const float sq = warp_squared_norm(e, dim, lane);
    const float a = inverse_norm(sq);
    const bool clamped = sqrtf(sq) <= static_cast<float>(kNormEps);
    if (lane == 0) e_inv[n] = a;
    float weighted_cos = 0;
    for (int first = 0; first < k; first += 32) {
      const int j = first + lane;
      weighted_cos += warp_sum(j < k ? grad_values[n * k + j] * (values[n * k + j] - 1.0f) : 0.0f);
    }
    for (int f0 = 0; f0 < dim; f0 += 32) {  // every lane runs every round: shuffles need all
      const int f = f0 + lane;
      float acc = 0;
      for (int first = 0; first < k; first += 32) {
        const int j = first + lane;
        int l = 0;
        float weight = 0;
        if (j < k) {
          l = static_cast<int>(indices[n * k + j]);
          weight = grad_values[n * k + j] * p_inv[l];
        }
        const int count = min(32, k - first);
        for (int i = 0; i < count; ++i) {
          const int l_i = __shfl_sync(kFullMask, l, i);
          const float weight_i = __shfl_sync(kFullMask, weight, i);
          if (f < dim) acc = fmaf(weight_i, prototypes[static_cast<int64_t>(l_i) * dim + f], acc);
        }
      }
      if (f < dim)
        grad_entities[n * dim + f] = a * (acc - (clamped ? 0.0f : weighted_cos * e[f] * a));
    }
  }
}

// Prototype gradient, first pass: block b sums the kept entries of its own rows
// [rows·b/B, rows·(b+1)/B), in row order, into partial[b][l] (dim sums and the weighted cosine)
// for the prototypes of its chunk, without atomics: warp w alone updates the prototypes with
// l % kWarps == w, and lane i alone their features f ≡ i (mod 32). The rows and their kept
// entries are staged in shared memory tile by tile; a warp finds its entries 32 at a time with a
// ballot and takes them in ascending order.
__global__ void prototype_partial_kernel(const float* __restrict__ grad_values,
                                         const float* __restrict__ values,
                                         const int64_t* __restrict__ indices,
                                         const float* __restrict__ entities,
                                         const float* __restrict__ e_inv, int64_t rows, int dim,
                                         int k, int chunk, int prototypes_count, int tile_rows,
                                         float* __restrict__ partial) {
  extern __shared__ float shared[];
  const int width = dim + 1;
  float* acc = shared;                                             // [chunk][width]
  float* tile = acc + chunk * width;                               // [tile_rows][dim]
  float* weight = tile + tile_rows * dim;                          // [tile_rows * k]: g / ‖e‖
  float* cos_weight = weight + tile_rows * k;                      // [tile_rows * k]: g · cos
  int* slot = reinterpret_cast<int*>(cos_weight + tile_rows * k);  // l − first, or −1
  const int first = blockIdx.y * chunk;
  const int count = min(chunk, prototypes_count - first);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  for (int t = threadIdx.x; t < chunk * width; t += blockDim.x) acc[t] = 0;
  const int64_t begin = rows * blockIdx.x / gridDim.x;
  const int64_t end = rows * (blockIdx.x + 1) / gridDim.x;
  for (int64_t row0 = begin; row0 < end; row0 += tile_rows) {
    const int entries = static_cast<int>(min(static_cast<int64_t>(tile_rows), end - row0)) * k;
    __syncthreads();  // the previous tile is consumed (and acc zeroed before the first)
    for (int t = threadIdx.x; t < entries / k * dim; t += blockDim.x)
      tile[t] = entities[row0 * dim + t];
    for (int t = threadIdx.x; t < entries; t += blockDim.x) {
      const int64_t e = row0 * k + t;
      const int l = static_cast<int>(indices[e]) - first;
      const float g = grad_values[e];
      slot[t] = l >= 0 && l < count ? l : -1;
      weight[t] = g * e_inv[row0 + t / k];
      cos_weight[t] = g * (values[e] - 1.0f);
    }
    __syncthreads();
    for (int base = 0; base < entries; base += 32) {
      const int mine = base + lane < entries ? slot[base + lane] : -1;
      unsigned owned = __ballot_sync(kFullMask, mine >= 0 && mine % kWarps == warp);
      while (owned != 0) {
        const int t = base + __ffs(owned) - 1;
        owned &= owned - 1;
        float* a = acc + slot[t] * width;
        const float* e = tile + (t / k) * dim;
        const float w = weight[t];
        for (int f = lane; f < dim; f += 32) a[f] = fmaf(w, e[f], a[f]);
        if (lane == 0) a[dim] += cos_weight[t];
      }
    }
  }
  __syncthreads();
  float* out = partial + (static_cast<int64_t>(blockIdx.x) * prototypes_count + first) * width;
  for (int t = threadIdx.x; t < count * width; t += blockDim.x) out[t] = acc[t];
}

// Prototype gradient, second pass: the blocks' partial sums added in block order.
__global__ void sum_partials_kernel(const float* __restrict__ partial, int blocks,
                                    int prototypes_count, int dim, float* __restrict__ sum,
                                    float* __restrict__ cos_sum) {
  const int width = dim + 1;
  const int64_t total = static_cast<int64_t>(prototypes_count) * width;
  for (int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; t < total;
       t += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    float s = 0;
#pragma unroll 8
    for (int b = 0; b < blocks; ++b) s += partial[b * total + t];
    const int64_t l = t / width;
    const int f = static_cast<int>(t % width);
    if (f < dim)
      sum[l * dim + f] = s;
    else
      cos_sum[l] = s;
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
  if (layout.threads == 0)
    throw std::runtime_error("top-k prototype filter: d = " + std::to_string(s.dim) + " and k = " +
                             std::to_string(s.k) + " need more shared memory than the GPU has");
  const int per_sm = std::max(1, max_bytes / static_cast<int>(layout.bytes));
  const int64_t tiles = (s.rows + layout.threads - 1) / layout.threads;
  const auto blocks = static_cast<unsigned>(
      std::min<int64_t>(tiles, static_cast<int64_t>(multiprocessor_count()) * per_sm));
  auto launch = [&](auto kernel) {
    cuda_check(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                    static_cast<int>(layout.bytes)),
               "cudaFuncSetAttribute(topk_forward_kernel)");
    kernel<<<blocks, layout.threads, layout.bytes, stream>>>(
        entities, prototypes, s.rows, static_cast<int>(s.prototypes), static_cast<int>(s.dim),
        static_cast<int>(s.k), layout.chunk, values, indices);
  };
  if (s.k <= 4) {
    launch(topk_forward_kernel<4>);
  } else if (s.k <= 8) {
    launch(topk_forward_kernel<8>);
  } else if (s.k <= 16) {
    launch(topk_forward_kernel<16>);
  } else if (s.k <= 32) {
    launch(topk_forward_kernel<32>);
  } else {
    launch(topk_forward_kernel<0>);
  }
  cuda_check_launch("topk_forward_kernel");
}

namespace {

// Launch shape of the prototype gradient's first pass: prototype chunks whose accumulators fit in
// 48 KB, blocks over the rows, and row tiles (features, weights, slots) in 32 KB more.
struct PrototypePassLayout {
  int chunk, chunks, blocks, tile_rows;
  size_t bytes;
};

PrototypePassLayout prototype_pass_layout(const TopkFilterSizes& s) {
  PrototypePassLayout layout{};
  const int L = static_cast<int>(s.prototypes), width = static_cast<int>(s.dim) + 1;
  layout.chunk = std::max(1, std::min(L, static_cast<int>((48 * 1024 / sizeof(float)) / width)));
  layout.chunks = (L + layout.chunk - 1) / layout.chunk;
  layout.blocks = grid_for(s.rows, 2);
  const auto per_row = static_cast<int>(s.dim + 3 * s.k);
  layout.tile_rows = std::max(1, static_cast<int>(32 * 1024 / sizeof(float)) / per_row);
  layout.bytes = sizeof(float) * (static_cast<size_t>(layout.chunk) * width +
                                  static_cast<size_t>(layout.tile_rows) * per_row);
  return layout;
}

}  // namespace

int64_t topk_filter_backward_workspace_floats(const TopkFilterSizes& s) {
  // sum [L][d], cos_sum [L], prototype inverse norms [L], entity inverse norms [N], and the
  // blocks' partial sums [blocks][L][d + 1].
  int64_t floats = s.prototypes * (s.dim + 2);
  if (s.rows > 0)
    floats +=
        s.rows + static_cast<int64_t>(prototype_pass_layout(s).blocks) * s.prototypes * (s.dim + 1);
  return floats;
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
  float* e_inv = p_inv + L;
  float* partial = e_inv + s.rows;
  inverse_norms_kernel<<<grid_for(L, 4), kThreads, 0, stream>>>(prototypes, L, d, p_inv);
  cuda_check_launch("inverse_norms_kernel");
  if (s.rows == 0) {
    cuda_check(cudaMemsetAsync(sum, 0, sizeof(float) * L * (d + 1), stream), "cudaMemsetAsync");
  } else {
    entity_grad_kernel<<<grid_for(s.rows, 8), kThreads, 0, stream>>>(
        grad_values, values, indices, entities, prototypes, p_inv, s.rows, d, k, grad_entities,
        e_inv);
    cuda_check_launch("entity_grad_kernel");
    const PrototypePassLayout layout = prototype_pass_layout(s);
    if (layout.bytes > static_cast<size_t>(max_shared_memory_per_block()))
      throw std::runtime_error("top-k prototype filter: d and k too large for shared memory");
    cuda_check(
        cudaFuncSetAttribute(prototype_partial_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                             static_cast<int>(layout.bytes)),
        "cudaFuncSetAttribute(prototype_partial_kernel)");
    const dim3 grid(static_cast<unsigned>(layout.blocks), static_cast<unsigned>(layout.chunks));
    prototype_partial_kernel<<<grid, kThreads, layout.bytes, stream>>>(
        grad_values, values, indices, entities, e_inv, s.rows, d, k, layout.chunk, L,
        layout.tile_rows, partial);
    cuda_check_launch("prototype_partial_kernel");
    const auto cells = static_cast<int64_t>(L) * (d + 1);
    const auto sum_blocks = static_cast<unsigned>(std::min<int64_t>(
        (cells + kThreads - 1) / kThreads, static_cast<int64_t>(multiprocessor_count()) * 4));
    sum_partials_kernel<<<sum_blocks, kThreads, 0, stream>>>(partial, layout.blocks, L, d, sum,
                                                             cos_sum);
    cuda_check_launch("sum_partials_kernel");
  }
  prototype_finish_kernel<<<grid_for(L, 4), kThreads, 0, stream>>>(sum, cos_sum, prototypes, L, d,
                                                                   grad_prototypes);
  cuda_check_launch("prototype_finish_kernel");
}

}  // namespace polyphony::kernels
