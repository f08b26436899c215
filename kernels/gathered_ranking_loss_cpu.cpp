// CPU path of the gathered ranking loss: rows in parallel for the scores, the row losses and the
// coefficients; the dense gradients per table row over the rows or pairs that name it (one
// counting sort each), so they need no atomics and do not depend on the thread count.

#include <ATen/Parallel.h>

#include <algorithm>
#include <memory>

#include "kernels/cpu_variant.h"
#include "kernels/entries_by_row.h"
#include "kernels/gathered_ranking_loss_kernels.h"
#include "kernels/ranking_loss_row.h"

namespace polyphony::kernels {

template <CpuCapability C, typename T>
void gathered_loss_forward_cpu(const T* user_vectors, const T* item_vectors, const int64_t* users,
                               const int64_t* items, const GatheredLossSizes& s, LossKind kind,
                               double* row_losses, T* coefficients) {
  const int64_t f = s.features;
  const double denominator = loss_denominator(kind, s);
  at::parallel_for(0, s.rows, 64, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      const T* user = user_vectors + users[b] * f;
      T* row = coefficients + b * s.slots;
      for (int64_t j = 0; j < s.slots; ++j)
        row[j] = vector_dot(user, item_vectors + items[b * s.slots + j] * f, f);
      row_losses[b] = ranking_loss_row(kind, row, s.slots, denominator);
    }
  });
}

template <CpuCapability C, typename T>
void gathered_loss_backward_cpu(const T* grad_loss, const T* user_vectors, const T* item_vectors,
                                const int64_t* users, const int64_t* items,
                                const GatheredLossSizes& s, const T* coefficients, bool per_row,
                                T* grad_users, T* grad_items) {
  const int64_t f = s.features;
  const T g = *grad_loss;
  const int64_t pairs = s.rows * s.slots;
  // Row b's user term g Σ_j c[b, j] item[items[b, j]]: the gradient itself when per row, else
  // summed per user below.
  // No std::vector<T> here: its functions instantiated in an AVX object could be the copy the
  // linker keeps for every CPU (build.cpu_variant_symbols).
  const std::unique_ptr<T[]> user_terms(per_row ? nullptr : new T[s.rows * f]);
  T* terms = per_row ? grad_users : user_terms.get();
  at::parallel_for(0, s.rows, 64, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      T* out = terms + b * f;
      std::fill(out, out + f, T(0));
      for (int64_t j = 0; j < s.slots; ++j)
        add_scaled(out, g * coefficients[b * s.slots + j],
                   item_vectors + items[b * s.slots + j] * f, f);
    }
  });
  if (per_row) {
    at::parallel_for(0, pairs, 256, [&](int64_t begin, int64_t end) {
      for (int64_t p = begin; p < end; ++p) {
        const T* user = user_vectors + users[p / s.slots] * f;
        const T scale = g * coefficients[p];
        T* out = grad_items + p * f;
        for (int64_t k = 0; k < f; ++k) out[k] = scale * user[k];
      }
    });
    return;
  }
  const auto rows_by_user = group_entries_by_row(users, s.rows, s.user_rows);
  at::parallel_for(0, s.user_rows, 64, [&](int64_t begin, int64_t end) {
    for (int64_t u = begin; u < end; ++u) {
      T* out = grad_users + u * f;
      std::fill(out, out + f, T(0));
      for (int64_t k = rows_by_user.first[u]; k < rows_by_user.first[u + 1]; ++k)
        add_scaled(out, T(1), terms + rows_by_user.entries[k] * f, f);
    }
  });
  const auto pairs_by_item = group_entries_by_row(items, pairs, s.item_rows);
  at::parallel_for(0, s.item_rows, 64, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      T* out = grad_items + i * f;
      std::fill(out, out + f, T(0));
      for (int64_t k = pairs_by_item.first[i]; k < pairs_by_item.first[i + 1]; ++k) {
        const int64_t p = pairs_by_item.entries[k];
        add_scaled(out, g * coefficients[p], user_vectors + users[p / s.slots] * f, f);
      }
    }
  });
}

#define POLYPHONY_INSTANTIATE(T)                                                              \
  template void gathered_loss_forward_cpu<kThisCpuVariant, T>(                                \
      const T*, const T*, const int64_t*, const int64_t*, const GatheredLossSizes&, LossKind, \
      double*, T*);                                                                           \
  template void gathered_loss_backward_cpu<kThisCpuVariant, T>(                               \
      const T*, const T*, const T*, const int64_t*, const int64_t*, const GatheredLossSizes&, \
      const T*, bool, T*, T*);
POLYPHONY_INSTANTIATE(float)
POLYPHONY_INSTANTIATE(double)
#undef POLYPHONY_INSTANTIATE

}  // namespace polyphony::kernels
