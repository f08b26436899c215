// CUDA path of the gathered ranking loss (float32). Same meaning as gathered_ranking_loss_cpu.
//
// Forward: a warp per row computes the row's scores (lanes over the features, a warp sum per
// slot), then its first lane the row's loss term and coefficients (ranking_loss_row.h, in double);
// one block sums the row terms in a fixed order, so the loss is the same bits on every run.
// Backward: a warp per row; dense gradients are zeroed and summed with atomics (their last bits
// may vary between runs), row-sparse ones written per row and pair.

#include <cuda_runtime.h>

#include <cstdio>

#include "kernels/cuda_check.cuh"
#include "kernels/gathered_ranking_loss_kernels.h"
#include "kernels/ranking_loss_row.h"

namespace polyphony::kernels {
namespace {

constexpr int kWarps = 8;
constexpr int kThreads = kWarps * 32;
constexpr unsigned kFullMask = 0xffffffffu;

__device__ __forceinline__ float warp_sum(float x) {
  for (int offset = 16; offset > 0; offset >>= 1) x += __shfl_xor_sync(kFullMask, x, offset);
  return x;
}

__device__ __forceinline__ void check_id(int64_t id, int64_t rows) {
  if (id < 0 || id >= rows) {
    printf("gathered_ranking_loss: id %lld outside [0, %lld)\n", static_cast<long long>(id),
           static_cast<long long>(rows));
    __trap();
  }
}

__global__ void forward_rows(const float* __restrict__ user_vectors,
                             const float* __restrict__ item_vectors,
                             const int64_t* __restrict__ users, const int64_t* __restrict__ items,
                             GatheredLossSizes s, LossKind kind, double* row_losses,
                             float* coefficients) {
  const int64_t b = static_cast<int64_t>(blockIdx.x) * kWarps + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (b >= s.rows) return;
  const int64_t user_id = users[b];
  check_id(user_id, s.user_rows);
  const float* user = user_vectors + user_id * s.features;
  float* row = coefficients + b * s.slots;
  for (int64_t j = 0; j < s.slots; ++j) {
    const int64_t item_id = items[b * s.slots + j];
    check_id(item_id, s.item_rows);
    const float* item = item_vectors + item_id * s.features;
    float partial = 0;
    for (int64_t f = lane; f < s.features; f += 32) partial += user[f] * item[f];
    const float score = warp_sum(partial);
    if (lane == 0) row[j] = score;
  }
  __syncwarp();
  if (lane == 0) row_losses[b] = ranking_loss_row(kind, row, s.slots, loss_denominator(kind, s));
}

// One block: thread t sums rows t, t + kThreads, ..., then a tree over the threads.
__global__ void sum_rows(const double* __restrict__ row_losses, GatheredLossSizes s, LossKind kind,
                         float* loss) {
  __shared__ double partial[kThreads];
  double sum = 0;
  for (int64_t b = threadIdx.x; b < s.rows; b += kThreads) sum += row_losses[b];
  partial[threadIdx.x] = sum;
  __syncthreads();
  for (int width = kThreads / 2; width > 0; width /= 2) {
    if (threadIdx.x < width) partial[threadIdx.x] += partial[threadIdx.x + width];
    __syncthreads();
  }
  if (threadIdx.x == 0) *loss = static_cast<float>(partial[0] / loss_denominator(kind, s));
}

__global__ void backward_rows(const float* __restrict__ grad_loss,
                              const float* __restrict__ user_vectors,
                              const float* __restrict__ item_vectors,
                              const int64_t* __restrict__ users, const int64_t* __restrict__ items,
                              GatheredLossSizes s, const float* __restrict__ coefficients,
                              bool per_row, float* grad_users, float* grad_items) {
  const int64_t b = static_cast<int64_t>(blockIdx.x) * kWarps + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (b >= s.rows) return;
  const float g = *grad_loss;
  const int64_t user_id = users[b];
  const float* user = user_vectors + user_id * s.features;
  for (int64_t f = lane; f < s.features; f += 32) {
    float term = 0;
    for (int64_t j = 0; j < s.slots; ++j)
      term += coefficients[b * s.slots + j] * item_vectors[items[b * s.slots + j] * s.features + f];
    term *= g;
    if (per_row) {
      grad_users[b * s.features + f] = term;
    } else {
      atomicAdd(grad_users + user_id * s.features + f, term);
    }
  }
  for (int64_t j = 0; j < s.slots; ++j) {
    const int64_t p = b * s.slots + j;
    const float scale = g * coefficients[p];
    float* out = per_row ? grad_items + p * s.features : grad_items + items[p] * s.features;
    for (int64_t f = lane; f < s.features; f += 32) {
      if (per_row) {
        out[f] = scale * user[f];
      } else {
        atomicAdd(out + f, scale * user[f]);
      }
    }
  }
}

unsigned row_blocks(int64_t rows) { return static_cast<unsigned>((rows + kWarps - 1) / kWarps); }

}  // namespace

void gathered_loss_forward_cuda(const float* user_vectors, const float* item_vectors,
                                const int64_t* users, const int64_t* items,
                                const GatheredLossSizes& sizes, LossKind kind, double* row_losses,
                                float* coefficients, float* loss, Stream stream) {
  if (sizes.rows > 0) {
    forward_rows<<<row_blocks(sizes.rows), kThreads, 0, stream>>>(
        user_vectors, item_vectors, users, items, sizes, kind, row_losses, coefficients);
    cuda_check_launch("gathered_ranking_loss forward_rows");
  }
  sum_rows<<<1, kThreads, 0, stream>>>(row_losses, sizes, kind, loss);
  cuda_check_launch("gathered_ranking_loss sum_rows");
}

void gathered_loss_backward_cuda(const float* grad_loss, const float* user_vectors,
                                 const float* item_vectors, const int64_t* users,
                                 const int64_t* items, const GatheredLossSizes& sizes,
                                 const float* coefficients, bool per_row, float* grad_users,
                                 float* grad_items, Stream stream) {
  if (!per_row) {
    const size_t row_bytes = sizeof(float) * static_cast<size_t>(sizes.features);
    cuda_check(cudaMemsetAsync(grad_users, 0, row_bytes * sizes.user_rows, stream),
               "cudaMemsetAsync");
    cuda_check(cudaMemsetAsync(grad_items, 0, row_bytes * sizes.item_rows, stream),
               "cudaMemsetAsync");
  }
  if (sizes.rows == 0) return;
  backward_rows<<<row_blocks(sizes.rows), kThreads, 0, stream>>>(
      grad_loss, user_vectors, item_vectors, users, items, sizes, coefficients, per_row, grad_users,
      grad_items);
  cuda_check_launch("gathered_ranking_loss backward_rows");
}

}  // namespace polyphony::kernels
