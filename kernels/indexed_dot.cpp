#include "kernels/indexed_dot.h"

#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <c10/util/Exception.h>
#include <torch/autograd.h>

#include "kernels/indexed_dot_kernels.h"

namespace polyphony {
namespace {

kernels::IndexedDotSizes checked_sizes(const at::Tensor& rows, const at::Tensor& table,
                                       const at::Tensor& index) {
  TORCH_CHECK(rows.dim() == 2 && table.dim() == 2 && rows.size(1) == table.size(1),
              "indexed_dot: rows [B, F] and table [D, F] must share F, got ", rows.sizes(), " and ",
              table.sizes());
  TORCH_CHECK(rows.scalar_type() == table.scalar_type() && rows.device() == table.device() &&
                  at::isFloatingType(rows.scalar_type()),
              "indexed_dot: rows (", rows.scalar_type(), " on ", rows.device(), ") and table (",
              table.scalar_type(), " on ", table.device(), ") must be one floating type on one ",
              "device");
  TORCH_CHECK(index.dim() == 2 && index.size(0) == rows.size(0) &&
                  index.scalar_type() == at::kLong && index.device() == rows.device(),
              "indexed_dot: index must be int64 [", rows.size(0), ", n] on ", rows.device(),
              ", got ", index.scalar_type(), " ", index.sizes(), " on ", index.device());
  // The CPU kernel reads the table at these offsets; LibTorch's gather checks them elsewhere
  // (without a read back to the host).
  if (rows.device().is_cpu() && index.numel() > 0) {
    const auto [low, high] = at::aminmax(index);
    TORCH_CHECK(low.item<int64_t>() >= 0 && high.item<int64_t>() < table.size(0),
                "indexed_dot: index entries must lie in [0, ", table.size(0), "), got [",
                low.item<int64_t>(), ", ", high.item<int64_t>(), "]");
  }
  return {rows.size(0), index.size(1), table.size(0), rows.size(1)};
}

class IndexedDotFunction : public torch::autograd::Function<IndexedDotFunction> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& rows,
                            const at::Tensor& table, const at::Tensor& index) {
    const auto sizes = checked_sizes(rows, table, index);
    const auto r = rows.contiguous(), t = table.contiguous(), i = index.contiguous();
    auto out = at::empty({sizes.rows, sizes.slots}, rows.options());
    AT_DISPATCH_FLOATING_TYPES(rows.scalar_type(), "indexed_dot_forward_cpu", [&] {
      kernels::dispatch_by_cpu_capability([&](auto cpu) {
        kernels::indexed_dot_forward_cpu<decltype(cpu)::value, scalar_t>(
            r.data_ptr<scalar_t>(), t.data_ptr<scalar_t>(), i.data_ptr<int64_t>(), sizes,
            out.data_ptr<scalar_t>());
      });
    });
    ctx->save_for_backward({r, t, i});
    return out;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto& rows = saved[0];
    const auto& table = saved[1];
    const auto& index = saved[2];
    const kernels::IndexedDotSizes sizes{rows.size(0), index.size(1), table.size(0), rows.size(1)};
    const auto grad = grads[0].contiguous();
    auto grad_rows = at::empty_like(rows);
    auto grad_table = at::empty_like(table);
    AT_DISPATCH_FLOATING_TYPES(rows.scalar_type(), "indexed_dot_backward_cpu", [&] {
      kernels::dispatch_by_cpu_capability([&](auto cpu) {
        kernels::indexed_dot_backward_cpu<decltype(cpu)::value, scalar_t>(
            grad.data_ptr<scalar_t>(), rows.data_ptr<scalar_t>(), table.data_ptr<scalar_t>(),
            index.data_ptr<int64_t>(), sizes, grad_rows.data_ptr<scalar_t>(),
            grad_table.data_ptr<scalar_t>());
      });
    });
    return {grad_rows, grad_table, at::Tensor()};
  }
};

}  // namespace

at::Tensor indexed_dot(const at::Tensor& rows, const at::Tensor& table, const at::Tensor& index) {
  if (!rows.device().is_cpu()) {
    checked_sizes(rows, table, index);
    const auto gathered = table.index_select(0, index.reshape(-1))
                              .view({index.size(0), index.size(1), table.size(1)});  // [B, n, F]
    return at::bmm(gathered, rows.unsqueeze(2)).squeeze(2);
  }
  return IndexedDotFunction::apply(rows, table, index);
}

}  // namespace polyphony
