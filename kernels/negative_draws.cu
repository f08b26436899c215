// CUDA path of the training batch draw: one thread per row and negative, the same draw as on the
// CPU (negative_draw.h). Under graph capture the Philox seed and offset are read on the device.

#include <cuda_runtime.h>

#include "kernels/cuda_check.cuh"
#include "kernels/negative_draw.h"
#include "kernels/negative_draws_kernels.h"

namespace polyphony::kernels {
namespace {

constexpr int kThreads = 256;

__global__ void draw_batch_kernel(BatchSource source, NegativeTables tables, DrawSizes sizes,
                                  RandomKey key, int64_t* out_users, int64_t* out_items) {
  const int64_t n = sizes.negatives;
  const int64_t width = (source.items ? 1 : 0) + n;
  const int64_t per_row = width > 0 ? width : 1;
  const int64_t index = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (index >= sizes.rows * per_row) return;
  const int64_t b = index / per_row, slot = index % per_row;
  const int64_t first = source.first_pointer ? *source.first_pointer : source.first;
  const int64_t entry = source.order ? source.order[first + b] : first + b;
  const int64_t user = source.users[entry];
  if (slot == 0) out_users[b] = user;
  if (width == 0) return;
  if (source.items && slot == 0) {
    out_items[b * width] = source.items[entry];
    return;
  }
  const int64_t j = slot - (source.items ? 1 : 0);
  const uint64_t seed = key.seed_pointer ? static_cast<uint64_t>(*key.seed_pointer) : key.seed;
  const uint64_t offset = key.offset_pointer
                              ? static_cast<uint64_t>(*key.offset_pointer) + key.offset_in_graph
                              : key.offset;
  out_items[index] = draw_negative(tables, user, seed, static_cast<uint64_t>(b * n + j),
                                   offset / kRandomValuesPerDraw);
}

}  // namespace

void draw_batch_cuda(const BatchSource& source, const NegativeTables& tables,
                     const DrawSizes& sizes, const RandomKey& key, int64_t* out_users,
                     int64_t* out_items, Stream stream) {
  const int64_t width = (source.items ? 1 : 0) + sizes.negatives;
  const int64_t threads = sizes.rows * (width > 0 ? width : 1);
  if (threads == 0) return;
  const auto blocks = static_cast<unsigned>((threads + kThreads - 1) / kThreads);
  draw_batch_kernel<<<blocks, kThreads, 0, stream>>>(source, tables, sizes, key, out_users,
                                                     out_items);
  cuda_check_launch("draw_batch_kernel");
}

}  // namespace polyphony::kernels
