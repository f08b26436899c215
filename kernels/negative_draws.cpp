#include "kernels/negative_draws.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/record_function.h>
#include <c10/util/Exception.h>

#include <mutex>

#include "kernels/device_dispatch.h"
#include "kernels/negative_draws_kernels.h"

#ifdef POLYPHONY_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#include <ATen/cuda/CUDAGeneratorImpl.h>
#endif

namespace polyphony {
namespace {

kernels::NegativeTables raw_tables(const NegativeDrawTables& t) {
  kernels::NegativeTables raw;
  raw.indptr = t.indptr.data_ptr<int64_t>();
  raw.keys = t.keys.data_ptr<int64_t>();
  raw.positive_mass = t.positive_mass.data_ptr<int64_t>();
  raw.user_mass = t.user_mass.data_ptr<int64_t>();
  raw.cumulative = t.cumulative.data_ptr<int64_t>();
  raw.total_mass = t.total_mass;
  raw.stride = t.stride;
  raw.num_items = t.num_items;
  raw.uniform = t.uniform;
  return raw;
}

// The CPU generator's next 64-bit value keys the draws of one call.
kernels::RandomKey cpu_random_key() {
  auto generator = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(generator.mutex());
  kernels::RandomKey key;
  key.seed = at::check_generator<at::CPUGeneratorImpl>(generator)->random64();
  return key;
}

#ifdef POLYPHONY_WITH_CUDA
// The CUDA generator's Philox state, advanced by one block per draw: valid in a captured graph.
kernels::RandomKey cuda_random_key(const c10::Device& device) {
  auto generator = at::cuda::detail::getDefaultCUDAGenerator(device.index());
  std::lock_guard<std::mutex> lock(generator.mutex());
  const at::PhiloxCudaState state =
      at::check_generator<at::CUDAGeneratorImpl>(generator)->philox_cuda_state(
          kernels::kRandomValuesPerDraw);
  kernels::RandomKey key;
  if (state.captured_) {
    key.seed_pointer = state.seed_.ptr;
    key.offset_pointer = state.offset_.ptr;
    key.offset_in_graph = state.offset_intragraph_;
  } else {
    key.seed = state.seed_.val;
    key.offset = state.offset_.val;
  }
  return key;
}
#endif

void check_tables(const NegativeDrawTables& t, const at::Tensor& users, int64_t negatives) {
  TORCH_CHECK(negatives >= 0, "draw_negatives: negatives must be non-negative, got ", negatives);
  TORCH_CHECK(users.scalar_type() == at::kLong && users.device() == t.indptr.device(),
              "draw_negatives: users must be int64 on ", t.indptr.device(), ", got ",
              users.scalar_type(), " on ", users.device());
  TORCH_CHECK(t.num_items > 0 || negatives == 0, "draw_negatives: there are no items to draw");
}

DrawnBatch draw(const NegativeDrawTables& tables, const kernels::BatchSource& source,
                const at::Tensor& like, int64_t rows, int64_t width, int64_t negatives) {
  DrawnBatch out;
  out.users = at::empty({rows}, like.options());
  out.items = at::empty({rows, width}, like.options());
  const kernels::DrawSizes sizes{rows, negatives};
  kernels::dispatch_by_device(
      like, "draw_negatives",
      [&](kernels::Stream stream) {
#ifdef POLYPHONY_WITH_CUDA
        kernels::draw_batch_cuda(source, raw_tables(tables), sizes, cuda_random_key(like.device()),
                                 out.users.data_ptr<int64_t>(), out.items.data_ptr<int64_t>(),
                                 stream);
#else
        (void)stream;
#endif
      },
      [&] {
        kernels::draw_batch_cpu(source, raw_tables(tables), sizes, cpu_random_key(),
                                out.users.data_ptr<int64_t>(), out.items.data_ptr<int64_t>());
      },
      /*float32_on_cuda=*/false);
  return out;
}

// Checks the training entries and the order; the source of their rows.
kernels::BatchSource training_source(const NegativeDrawTables& tables, const at::Tensor& order,
                                     int64_t count, const at::Tensor& users,
                                     const at::Tensor& items, int64_t negatives) {
  check_tables(tables, users, negatives);
  TORCH_CHECK(order.scalar_type() == at::kLong && order.device() == users.device() &&
                  order.is_contiguous() && users.is_contiguous() && items.is_contiguous() &&
                  items.sizes() == users.sizes() && items.scalar_type() == at::kLong,
              "draw_training_batch: order, users and items must be contiguous int64 [N] on one "
              "device");
  TORCH_CHECK(count >= 0 && count <= order.numel(), "draw_training_batch: ", count,
              " rows from an order of ", order.numel());
  kernels::BatchSource source;
  source.order = order.data_ptr<int64_t>();
  source.users = users.data_ptr<int64_t>();
  source.items = items.data_ptr<int64_t>();
  return source;
}

}  // namespace

DrawnBatch draw_training_batch(const NegativeDrawTables& tables, const at::Tensor& order,
                               int64_t first, int64_t count, const at::Tensor& users,
                               const at::Tensor& items, int64_t negatives) {
  RECORD_FUNCTION("polyphony::draw_training_batch", std::vector<c10::IValue>());
  auto source = training_source(tables, order, count, users, items, negatives);
  TORCH_CHECK(first >= 0 && first + count <= order.numel(), "draw_training_batch: rows [", first,
              ", ", first + count, ") outside the order of ", order.numel());
  source.first = first;
  return draw(tables, source, users, count, 1 + negatives, negatives);
}

DrawnBatch draw_training_batch(const NegativeDrawTables& tables, const at::Tensor& order,
                               const at::Tensor& first, int64_t count, const at::Tensor& users,
                               const at::Tensor& items, int64_t negatives) {
  RECORD_FUNCTION("polyphony::draw_training_batch", std::vector<c10::IValue>());
  auto source = training_source(tables, order, count, users, items, negatives);
  TORCH_CHECK(
      first.scalar_type() == at::kLong && first.numel() == 1 && first.device() == users.device(),
      "draw_training_batch: first must be an int64 scalar on ", users.device());
  source.first_pointer = first.data_ptr<int64_t>();
  return draw(tables, source, users, count, 1 + negatives, negatives);
}

at::Tensor draw_negatives(const NegativeDrawTables& tables, const at::Tensor& users, int64_t n) {
  RECORD_FUNCTION("polyphony::draw_negatives", std::vector<c10::IValue>());
  check_tables(tables, users, n);
  const auto ids = users.contiguous();
  kernels::BatchSource source;
  source.users = ids.data_ptr<int64_t>();
  return draw(tables, source, ids, ids.numel(), n, n).items;
}

}  // namespace polyphony
