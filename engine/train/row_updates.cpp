#include "engine/train/row_updates.h"

#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#include <cmath>
#include <initializer_list>

namespace polyphony {
namespace {

bool fused(const at::Tensor& table, RowUpdatePath path) {
  return path == RowUpdatePath::kFused && table.device().is_cpu();
}

// Calls body(row of the table, row of the gradient) for every updated row, in parallel: the rows
// are distinct, so no two threads write one row.
template <typename Body>
void for_each_row(const RowGradient& rows, const Body& body) {
  const int64_t n = rows.gradient.size(0);
  const int64_t* index = rows.index.defined() ? rows.index.data_ptr<int64_t>() : nullptr;
  at::parallel_for(0, n, /*grain_size=*/256, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) body(index ? index[i] : i, i);
  });
}

// Rows of a large table are scattered over memory, so each costs a cache and TLB miss: asking
// for the row a few ahead while this one is computed hides most of that latency.
template <typename T>
void prefetch_ahead(const int64_t* index, int64_t n, int64_t i, int64_t d,
                    std::initializer_list<const T*> tables) {
  constexpr int64_t kAhead = 4, kLine = 64;
  if (!index || i + kAhead >= n) return;
  const int64_t r = index[i + kAhead];
  for (const T* table : tables)
    for (int64_t byte = 0; byte < d * static_cast<int64_t>(sizeof(T)); byte += kLine)
      __builtin_prefetch(reinterpret_cast<const char*>(table + r * d) + byte);
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
};

RowGradient contiguous(const RowGradient& rows) {
  return {rows.index.defined() ? rows.index.contiguous() : rows.index, rows.gradient.contiguous()};
}

}  // namespace

void adam_update_rows(const at::Tensor& table, const RowGradient& given, const at::Tensor& first,
                      const at::Tensor& second, const AdamRowOptions& o, RowUpdatePath path) {
  at::NoGradGuard no_grad;
  const RowGradient rows = contiguous(given);
  const double t = static_cast<double>(o.step);
  const double step_size = o.lr / (1.0 - std::pow(o.beta1, t));
  const double root_correction2 = std::sqrt(1.0 - std::pow(o.beta2, t));
  const double decay = o.decoupled ? 1.0 - o.lr * o.weight_decay : 1.0;
  const double l2 = o.decoupled ? 0.0 : o.weight_decay;
  if (fused(table, path)) {
    const int64_t d = table.size(1);
    AT_DISPATCH_FLOATING_TYPES(table.scalar_type(), "adam_update_rows", [&] {
      using T = scalar_t;
      T* w = table.data_ptr<T>();
      T* m = first.data_ptr<T>();
      T* v = second.data_ptr<T>();
      const T* g = rows.gradient.data_ptr<T>();
      const T b1 = o.beta1, b2 = o.beta2, eps = o.epsilon, rc2 = root_correction2;
      const T lr = step_size, keep = decay, wd = l2;
      const int64_t* index = rows.index.defined() ? rows.index.data_ptr<int64_t>() : nullptr;
      const int64_t n = rows.gradient.size(0);
      for_each_row(rows, [&](int64_t r, int64_t i) {
        prefetch_ahead<T>(index, n, i, d, {w, m, v});
        T* wr = w + r * d;
        T* mr = m + r * d;
        T* vr = v + r * d;
        const T* gr = g + i * d;
        for (int64_t j = 0; j < d; ++j) {
          const T gj = gr[j] + wd * wr[j];
          mr[j] = b1 * mr[j] + (1 - b1) * gj;
          vr[j] = b2 * vr[j] + (1 - b2) * gj * gj;
          wr[j] = keep * wr[j] - lr * mr[j] / (std::sqrt(vr[j]) / rc2 + eps);
        }
      });
    });
    return;
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
  gather.put(table, w);
}

void adagrad_update_rows(const at::Tensor& table, const RowGradient& given, const at::Tensor& sums,
                         double lr, double weight_decay, double epsilon, RowUpdatePath path) {
  at::NoGradGuard no_grad;
  const RowGradient rows = contiguous(given);
  if (fused(table, path)) {
    const int64_t d = table.size(1);
    AT_DISPATCH_FLOATING_TYPES(table.scalar_type(), "adagrad_update_rows", [&] {
      using T = scalar_t;
      T* w = table.data_ptr<T>();
      T* s = sums.data_ptr<T>();
      const T* g = rows.gradient.data_ptr<T>();
      const T rate = lr, wd = weight_decay, eps = epsilon;
      for_each_row(rows, [&](int64_t r, int64_t i) {
        T* wr = w + r * d;
        const T* gr = g + i * d;
        T squares = 0;
        for (int64_t j = 0; j < d; ++j) {
          const T gj = gr[j] + wd * wr[j];
          squares += gj * gj;
        }
        s[r] += squares / static_cast<T>(d);
        const T scale = rate / (std::sqrt(s[r]) + eps);
        for (int64_t j = 0; j < d; ++j) wr[j] -= scale * (gr[j] + wd * wr[j]);
      });
    });
    return;
  }
  const Gathered gather{rows};
  auto w = gather.of(table);
  auto g = weight_decay > 0 ? rows.gradient + weight_decay * w : rows.gradient;
  auto s = gather.of(sums).add_(g.pow(2).mean(1));
  w.sub_(lr * g / (s.sqrt() + epsilon).unsqueeze(1));
  gather.put(sums, s);
  gather.put(table, w);
}

void sgd_update_rows(const at::Tensor& table, const RowGradient& given, const at::Tensor& buffer,
                     double lr, double momentum, double weight_decay, RowUpdatePath path) {
  at::NoGradGuard no_grad;
  const RowGradient rows = contiguous(given);
  if (fused(table, path)) {
    const int64_t d = table.size(1);
    AT_DISPATCH_FLOATING_TYPES(table.scalar_type(), "sgd_update_rows", [&] {
      using T = scalar_t;
      T* w = table.data_ptr<T>();
      T* b = buffer.defined() ? buffer.data_ptr<T>() : nullptr;
      const T* g = rows.gradient.data_ptr<T>();
      const T rate = lr, mu = momentum, wd = weight_decay;
      for_each_row(rows, [&](int64_t r, int64_t i) {
        T* wr = w + r * d;
        const T* gr = g + i * d;
        for (int64_t j = 0; j < d; ++j) {
          T step = gr[j] + wd * wr[j];
          if (b) step = b[r * d + j] = mu * b[r * d + j] + step;
          wr[j] -= rate * step;
        }
      });
    });
    return;
  }
  const Gathered gather{rows};
  auto w = gather.of(table);
  auto g = weight_decay > 0 ? rows.gradient + weight_decay * w : rows.gradient;
  if (buffer.defined()) {
    g = gather.of(buffer).mul_(momentum).add_(g);
    gather.put(buffer, g);
  }
  w.sub_(lr * g);
  gather.put(table, w);
}

}  // namespace polyphony
