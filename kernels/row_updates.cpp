#include "kernels/row_updates.h"

#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <c10/util/Exception.h>

#include <cmath>
#include <initializer_list>

#include "kernels/row_updates_kernels.h"

namespace polyphony {
namespace {

bool fused(const at::Tensor& table, RowUpdatePath path) {
  return path == RowUpdatePath::kFused && table.device().is_cpu();
}

// The tensor-operation path: the rows gathered, updated, scattered back.
struct Gathered {
  const RowGradient& rows;
  at::Tensor of(const at::Tensor& full) const {
    return rows.index.defined() ? full.index_select(0, rows.index) : full.clone();
  }
  void put(const at::Tensor& full, const at::Tensor& values) const {
    if (rows.index.defined()) {
      full.index_copy_(0, rows.index, values);
    } else {
      full.copy_(values);
    }
  }
  // Writes the updated rows back to the table; whether they are all finite.
  at::Tensor put_table(const at::Tensor& table, const at::Tensor& values) const {
    put(table, values);
    return values.isfinite().all();
  }
};

RowGradient contiguous(const RowGradient& rows) {
  return {rows.index.defined() ? rows.index.contiguous() : rows.index, rows.gradient.contiguous()};
}

// The fused path writes the tables through raw pointers: each must be a contiguous [rows, d] (or
// [rows]) of the table's dtype, and the gradient hold d values per updated row.
void check_fused(const char* rule, const at::Tensor& table, const RowGradient& rows,
                 std::initializer_list<at::Tensor> state) {
  TORCH_CHECK(table.dim() == 2 && table.is_contiguous(), rule, ": the table must be a contiguous ",
              "[rows, d], got ", table.sizes());
  TORCH_CHECK(rows.gradient.dim() == 2 && rows.gradient.size(1) == table.size(1) &&
                  rows.gradient.scalar_type() == table.scalar_type(),
              rule, ": the gradient must be [n, ", table.size(1), "] of ", table.scalar_type(),
              ", got ", rows.gradient.sizes(), " of ", rows.gradient.scalar_type());
  TORCH_CHECK(rows.index.defined() ? rows.index.numel() == rows.gradient.size(0)
                                   : rows.gradient.size(0) == table.size(0),
              rule, ": one row index per gradient row");
  for (const auto& s : state)
    TORCH_CHECK(!s.defined() || (s.is_contiguous() && s.scalar_type() == table.scalar_type() &&
                                 s.size(0) == table.size(0)),
                rule, ": its state must be contiguous, of the table's dtype and rows");
}

const int64_t* index_of(const RowGradient& rows) {
  return rows.index.defined() ? rows.index.data_ptr<int64_t>() : nullptr;
}

kernels::RowUpdateSizes sizes_of(const RowGradient& rows) {
  return {rows.gradient.size(0), rows.gradient.size(1)};
}

at::Tensor flag(bool finite) { return at::scalar_tensor(finite, at::kBool); }

}  // namespace

at::Tensor adam_update_rows(const at::Tensor& table, const RowGradient& given,
                            const at::Tensor& first, const at::Tensor& second,
                            const AdamRowOptions& o, RowUpdatePath path) {
  at::NoGradGuard no_grad;
  const RowGradient rows = contiguous(given);
  const double t = static_cast<double>(o.step);
  const double step_size = o.lr / (1.0 - std::pow(o.beta1, t));
  const double root_correction2 = std::sqrt(1.0 - std::pow(o.beta2, t));
  const double decay = o.decoupled ? 1.0 - o.lr * o.weight_decay : 1.0;
  const double l2 = o.decoupled ? 0.0 : o.weight_decay;
  if (fused(table, path)) {
    check_fused("adam_update_rows", table, rows, {first, second});
    const kernels::AdamRowRule rule{o.beta1,          o.beta2, o.epsilon, step_size,
                                    root_correction2, decay,   l2};
    bool finite = true;
    AT_DISPATCH_FLOATING_TYPES(table.scalar_type(), "adam_update_rows", [&] {
      kernels::dispatch_by_cpu_capability([&](auto cpu) {
        finite = kernels::adam_rows_cpu<decltype(cpu)::value, scalar_t>(
            table.data_ptr<scalar_t>(), first.data_ptr<scalar_t>(), second.data_ptr<scalar_t>(),
            rows.gradient.data_ptr<scalar_t>(), index_of(rows), sizes_of(rows), rule);
      });
    });
    return flag(finite);
  }
  const Gathered gather{rows};
  auto w = gather.of(table);
  auto g = l2 > 0 ? rows.gradient + l2 * w : rows.gradient;
  auto m = gather.of(first).mul_(o.beta1).add_(g, 1.0 - o.beta1);
  auto v = gather.of(second).mul_(o.beta2).addcmul_(g, g, 1.0 - o.beta2);
  if (decay != 1.0) w.mul_(decay);
  w.addcdiv_(m, v.sqrt().div_(root_correction2).add_(o.epsilon), -step_size);
  gather.put(first, m);
  gather.put(second, v);
  return gather.put_table(table, w);
}

at::Tensor adagrad_update_rows(const at::Tensor& table, const RowGradient& given,
                               const at::Tensor& sums, double lr, double weight_decay,
                               double epsilon, RowUpdatePath path) {
  at::NoGradGuard no_grad;
  const RowGradient rows = contiguous(given);
  if (fused(table, path)) {
    check_fused("adagrad_update_rows", table, rows, {sums});
    const kernels::AdagradRowRule rule{lr, weight_decay, epsilon};
    bool finite = true;
    AT_DISPATCH_FLOATING_TYPES(table.scalar_type(), "adagrad_update_rows", [&] {
      kernels::dispatch_by_cpu_capability([&](auto cpu) {
        finite = kernels::adagrad_rows_cpu<decltype(cpu)::value, scalar_t>(
            table.data_ptr<scalar_t>(), sums.data_ptr<scalar_t>(),
            rows.gradient.data_ptr<scalar_t>(), index_of(rows), sizes_of(rows), rule);
      });
    });
    return flag(finite);
  }
  const Gathered gather{rows};
  auto w = gather.of(table);
  auto g = weight_decay > 0 ? rows.gradient + weight_decay * w : rows.gradient;
  auto s = gather.of(sums).add_(g.pow(2).mean(1));
  w.sub_(lr * g / (s.sqrt() + epsilon).unsqueeze(1));
  gather.put(sums, s);
  return gather.put_table(table, w);
}

at::Tensor sgd_update_rows(const at::Tensor& table, const RowGradient& given,
                           const at::Tensor& buffer, double lr, double momentum,
                           double weight_decay, RowUpdatePath path) {
  at::NoGradGuard no_grad;
  const RowGradient rows = contiguous(given);
  if (fused(table, path)) {
    check_fused("sgd_update_rows", table, rows, {buffer});
    const kernels::SgdRowRule rule{lr, momentum, weight_decay};
    bool finite = true;
    AT_DISPATCH_FLOATING_TYPES(table.scalar_type(), "sgd_update_rows", [&] {
      kernels::dispatch_by_cpu_capability([&](auto cpu) {
        finite = kernels::sgd_rows_cpu<decltype(cpu)::value, scalar_t>(
            table.data_ptr<scalar_t>(), buffer.defined() ? buffer.data_ptr<scalar_t>() : nullptr,
            rows.gradient.data_ptr<scalar_t>(), index_of(rows), sizes_of(rows), rule);
      });
    });
    return flag(finite);
  }
  const Gathered gather{rows};
  auto w = gather.of(table);
  auto g = weight_decay > 0 ? rows.gradient + weight_decay * w : rows.gradient;
  if (buffer.defined()) {
    g = gather.of(buffer).mul_(momentum).add_(g);
    gather.put(buffer, g);
  }
  w.sub_(lr * g);
  return gather.put_table(table, w);
}

}  // namespace polyphony
