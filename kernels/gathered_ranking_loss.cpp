#include "kernels/gathered_ranking_loss.h"

#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/record_function.h>
#include <c10/util/Exception.h>
#include <torch/autograd.h>

#include <vector>

#include "kernels/device_dispatch.h"
#include "kernels/gathered_ranking_loss_kernels.h"

namespace polyphony {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// The raw kernels' loss kinds are RankingLoss's, value for value.
static_assert(static_cast<int>(kernels::LossKind::kBpr) == static_cast<int>(RankingLoss::kBpr) &&
              static_cast<int>(kernels::LossKind::kSoftmax) ==
                  static_cast<int>(RankingLoss::kSoftmax) &&
              static_cast<int>(kernels::LossKind::kBce) == static_cast<int>(RankingLoss::kBce) &&
              static_cast<int>(kernels::LossKind::kMse) == static_cast<int>(RankingLoss::kMse));

kernels::LossKind kind_of(RankingLoss loss) {
  return static_cast<kernels::LossKind>(static_cast<int>(loss));
}

void check_arguments(const at::Tensor& vectors, const at::Tensor& users, const at::Tensor& items) {
  TORCH_CHECK(vectors.dim() == 2 && at::isFloatingType(vectors.scalar_type()),
              "gathered_ranking_loss: tables must be floating [rows, F], got ",
              vectors.scalar_type(), " ", vectors.sizes());
  TORCH_CHECK(users.dim() == 1 && items.dim() == 2 && items.size(0) == users.size(0) &&
                  items.size(1) >= 2 && users.scalar_type() == at::kLong &&
                  items.scalar_type() == at::kLong && users.device() == vectors.device() &&
                  items.device() == vectors.device(),
              "gathered_ranking_loss: users int64 [B] and items int64 [B, 1 + n] (n ≥ 1) on ",
              vectors.device(), ", got ", users.sizes(), " and ", items.sizes());
}

// On the CPU, where the kernel reads the tables at these rows (CUDA traps on its own): checked
// here, once, not in the per-CpuCapability kernel (an error path instantiated in an AVX object
// could be the copy every CPU runs).
void check_ids(const at::Tensor& ids, int64_t rows, const char* what) {
  const int64_t* id = ids.data_ptr<int64_t>();
  for (int64_t k = 0; k < ids.numel(); ++k)
    TORCH_CHECK(id[k] >= 0 && id[k] < rows, "gathered_ranking_loss: ", what, " id ", id[k],
                " outside [0, ", rows, ")");
}

// The two sides of the scores: the tables (or one table twice, items from `item_offset` on).
struct Sides {
  at::Tensor user_vectors, item_vectors;  // item_vectors undefined: one table
  int64_t item_offset = 0;
  kernels::GatheredLossSizes sizes;

  template <typename T>
  const T* users_data() const {
    return user_vectors.data_ptr<T>();
  }
  template <typename T>
  const T* items_data() const {
    return item_vectors.defined() ? item_vectors.data_ptr<T>()
                                  : user_vectors.data_ptr<T>() + item_offset * sizes.features;
  }
};

// `item_offset` < 0: two tables; otherwise one, `item_vectors` the same tensor as user_vectors.
Sides sides_of(const at::Tensor& user_vectors, const at::Tensor& item_vectors, int64_t item_offset,
               const at::Tensor& items) {
  const bool one_table = item_offset >= 0;
  Sides s{user_vectors.contiguous(),
          one_table ? at::Tensor() : item_vectors.contiguous(),
          one_table ? item_offset : 0,
          {}};
  s.sizes.rows = items.size(0);
  s.sizes.slots = items.size(1);
  s.sizes.features = user_vectors.size(1);
  s.sizes.user_rows = one_table ? item_offset : user_vectors.size(0);
  s.sizes.item_rows = one_table ? user_vectors.size(0) - item_offset : item_vectors.size(0);
  return s;
}

class GatheredRankingLoss : public torch::autograd::Function<GatheredRankingLoss> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& user_vectors,
                            const at::Tensor& item_vectors, const at::Tensor& users,
                            const at::Tensor& items, int64_t loss, int64_t item_offset,
                            bool row_sparse) {
    RECORD_FUNCTION("polyphony::gathered_ranking_loss", std::vector<c10::IValue>());
    const Sides s = sides_of(user_vectors, item_vectors, item_offset, items);
    const auto kind = static_cast<kernels::LossKind>(loss);
    const auto u = users.contiguous(), i = items.contiguous();
    auto coefficients = at::empty({s.sizes.rows, s.sizes.slots}, user_vectors.options());
    auto out = at::empty({}, user_vectors.options());
    kernels::dispatch_by_device(
        user_vectors, "gathered_ranking_loss",
        [&](kernels::Stream stream) {
          auto row_losses = at::empty({s.sizes.rows}, u.options().dtype(at::kDouble));
          kernels::gathered_loss_forward_cuda(
              s.users_data<float>(), s.items_data<float>(), u.data_ptr<int64_t>(),
              i.data_ptr<int64_t>(), s.sizes, kind, row_losses.data_ptr<double>(),
              coefficients.data_ptr<float>(), out.data_ptr<float>(), stream);
        },
        [&] {
          check_ids(u, s.sizes.user_rows, "user");
          check_ids(i, s.sizes.item_rows, "item");
          std::vector<double> row_losses(s.sizes.rows);
          AT_DISPATCH_FLOATING_TYPES(user_vectors.scalar_type(), "gathered_ranking_loss", [&] {
            kernels::dispatch_by_cpu_capability([&](auto cpu) {
              kernels::gathered_loss_forward_cpu<decltype(cpu)::value, scalar_t>(
                  s.users_data<scalar_t>(), s.items_data<scalar_t>(), u.data_ptr<int64_t>(),
                  i.data_ptr<int64_t>(), s.sizes, kind, row_losses.data(),
                  coefficients.data_ptr<scalar_t>());
            });
            double total = 0;  // in row order: the same sum for every thread count
            for (const double row : row_losses) total += row;
            *out.data_ptr<scalar_t>() =
                static_cast<scalar_t>(total / kernels::loss_denominator(kind, s.sizes));
          });
        });
    ctx->save_for_backward(
        {s.user_vectors, item_offset < 0 ? s.item_vectors : s.user_vectors, u, i, coefficients});
    ctx->saved_data["item_offset"] = item_offset;
    ctx->saved_data["row_sparse"] = row_sparse;
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    RECORD_FUNCTION("polyphony::gathered_ranking_loss_backward", std::vector<c10::IValue>());
    const auto saved = ctx->get_saved_variables();
    const auto& users = saved[2];
    const auto& items = saved[3];
    const auto& coefficients = saved[4];
    const Sides s = sides_of(saved[0], saved[1], ctx->saved_data["item_offset"].toInt(), items);
    const bool per_row = ctx->saved_data["row_sparse"].toBool();
    const auto grad = grads[0].contiguous();
    const auto& table = s.user_vectors;
    const int64_t f = s.sizes.features;
    // One table: one gradient whose rows [0, item_offset) are the users' and the rest the items'.
    at::Tensor grad_users, grad_items;
    if (!s.item_vectors.defined()) {
      grad_users = at::empty(table.sizes(), table.options());
    } else if (per_row) {
      grad_users = at::empty({s.sizes.rows, f}, table.options());
      grad_items = at::empty({s.sizes.rows * s.sizes.slots, f}, table.options());
    } else {
      grad_users = at::empty(table.sizes(), table.options());
      grad_items = at::empty(s.item_vectors.sizes(), table.options());
    }
    auto items_out = [&](auto* base) {
      return grad_items.defined() ? grad_items.data_ptr<std::remove_pointer_t<decltype(base)>>()
                                  : base + s.item_offset * f;
    };
    kernels::dispatch_by_device(
        table, "gathered_ranking_loss",
        [&](kernels::Stream stream) {
          float* users_out = grad_users.data_ptr<float>();
          kernels::gathered_loss_backward_cuda(
              grad.data_ptr<float>(), s.users_data<float>(), s.items_data<float>(),
              users.data_ptr<int64_t>(), items.data_ptr<int64_t>(), s.sizes,
              coefficients.data_ptr<float>(), per_row, users_out, items_out(users_out), stream);
        },
        [&] {
          AT_DISPATCH_FLOATING_TYPES(table.scalar_type(), "gathered_ranking_loss_backward", [&] {
            scalar_t* users_out = grad_users.data_ptr<scalar_t>();
            kernels::dispatch_by_cpu_capability([&](auto cpu) {
              kernels::gathered_loss_backward_cpu<decltype(cpu)::value, scalar_t>(
                  grad.data_ptr<scalar_t>(), s.users_data<scalar_t>(), s.items_data<scalar_t>(),
                  users.data_ptr<int64_t>(), items.data_ptr<int64_t>(), s.sizes,
                  coefficients.data_ptr<scalar_t>(), per_row, users_out, items_out(users_out));
            });
          });
        });
    if (per_row) {
      grad_users =
          at::_sparse_coo_tensor_unsafe(users.view({1, -1}), grad_users, s.user_vectors.sizes());
      grad_items =
          at::_sparse_coo_tensor_unsafe(items.view({1, -1}), grad_items, s.item_vectors.sizes());
    }
    return {grad_users,   grad_items,   at::Tensor(), at::Tensor(),
            at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

// LibTorch's operators: what the kernel computes, for CUDA under deterministic algorithms.
at::Tensor plain_ranking_loss(const Sides& s, const at::Tensor& users, const at::Tensor& items,
                              RankingLoss loss, bool row_sparse) {
  auto rows = [&](const at::Tensor& table, const at::Tensor& ids) {
    return row_sparse ? at::embedding(table, ids, -1, false, /*sparse=*/true)
                      : table.index_select(0, ids);
  };
  const auto item_table = s.item_vectors.defined()
                              ? s.item_vectors
                              : s.user_vectors.narrow(0, s.item_offset, s.sizes.item_rows);
  const auto u = rows(s.user_vectors, users);  // [B, F]
  const auto v = rows(item_table, items.reshape(-1)).view({items.size(0), items.size(1), -1});
  return ranking_loss(loss, at::bmm(v, u.unsqueeze(2)).squeeze(2));
}

at::Tensor gathered(const at::Tensor& user_vectors, const at::Tensor& item_vectors,
                    int64_t item_offset, const at::Tensor& users, const at::Tensor& items,
                    RankingLoss loss, bool row_sparse) {
  if (user_vectors.is_cuda() && at::globalContext().deterministicAlgorithms())
    return plain_ranking_loss(sides_of(user_vectors, item_vectors, item_offset, items), users,
                              items, loss, row_sparse);
  // Autograd takes defined inputs only: one table is passed twice, its gradient returned once.
  return GatheredRankingLoss::apply(user_vectors, item_vectors, users, items,
                                    static_cast<int64_t>(kind_of(loss)), item_offset, row_sparse);
}

}  // namespace

at::Tensor gathered_ranking_loss(const at::Tensor& user_vectors, const at::Tensor& item_vectors,
                                 const at::Tensor& users, const at::Tensor& items, RankingLoss loss,
                                 bool row_sparse_gradients) {
  check_arguments(user_vectors, users, items);
  TORCH_CHECK(item_vectors.dim() == 2 && item_vectors.size(1) == user_vectors.size(1) &&
                  item_vectors.scalar_type() == user_vectors.scalar_type() &&
                  item_vectors.device() == user_vectors.device(),
              "gathered_ranking_loss: user and item tables must share F, dtype and device, got ",
              user_vectors.sizes(), " and ", item_vectors.sizes());
  return gathered(user_vectors, item_vectors, -1, users, items, loss, row_sparse_gradients);
}

at::Tensor gathered_ranking_loss(const at::Tensor& vectors, int64_t item_offset,
                                 const at::Tensor& users, const at::Tensor& items,
                                 RankingLoss loss) {
  check_arguments(vectors, users, items);
  TORCH_CHECK(item_offset >= 0 && item_offset <= vectors.size(0),
              "gathered_ranking_loss: item_offset ", item_offset, " outside [0, ", vectors.size(0),
              "]");
  return gathered(vectors, vectors, item_offset, users, items, loss, false);
}

}  // namespace polyphony
