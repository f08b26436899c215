#pragma once
// Raw kernels of the gathered ranking loss (kernels/gathered_ranking_loss.h): no Torch types.
// user_vectors [U, F] and item_vectors [I, F] are row-major and contiguous; users [B] and items
// [B, S] (S = 1 + n: each row's positive, then its negatives) are int64.

#include <cstdint>

#include "kernels/common.h"
#include "kernels/cpu_capability.h"

namespace polyphony::kernels {

enum class LossKind { kBpr = 0, kSoftmax = 1, kBce = 2, kMse = 3 };

struct GatheredLossSizes {
  int64_t rows = 0;       // B
  int64_t slots = 0;      // S = 1 + n
  int64_t features = 0;   // F
  int64_t user_rows = 0;  // U
  int64_t item_rows = 0;  // I
};

namespace {  // local to each compilation, as in kernels/cpu_variant.h

// The number the loss's sum over rows is divided by: B · n pairs for BPR, B rows otherwise.
POLYPHONY_HOST_DEVICE inline double loss_denominator(LossKind kind, const GatheredLossSizes& s) {
  return kind == LossKind::kBpr ? static_cast<double>(s.rows) * static_cast<double>(s.slots - 1)
                                : static_cast<double>(s.rows);
}

}  // namespace

// With scores s[b, j] = ⟨user_vectors[users[b]], item_vectors[items[b, j]]⟩: row_losses[b] =
// the row's loss term (before the division by loss_denominator) and coefficients[b, j] =
// ∂ loss / ∂ s[b, j] of the mean loss. Every id must lie inside its table (the adapter checks).
// Compiled once per CpuCapability.
template <CpuCapability C, typename T>
void gathered_loss_forward_cpu(const T* user_vectors, const T* item_vectors, const int64_t* users,
                               const int64_t* items, const GatheredLossSizes& sizes, LossKind kind,
                               double* row_losses, T* coefficients);

// With g = *grad_loss and c = coefficients: per_row (row-sparse gradients) gives
// grad_users [B, F] (row b: g Σ_j c[b, j] item_vectors[items[b, j]]) and grad_items [B · S, F]
// (pair (b, j): g c[b, j] user_vectors[users[b]]); otherwise the dense gradients [U, F] and
// [I, F], each table row the sum of its rows' or pairs' terms in batch order (zero where none),
// so the result does not depend on the thread count.
template <CpuCapability C, typename T>
void gathered_loss_backward_cpu(const T* grad_loss, const T* user_vectors, const T* item_vectors,
                                const int64_t* users, const int64_t* items,
                                const GatheredLossSizes& sizes, const T* coefficients, bool per_row,
                                T* grad_users, T* grad_items);

// CUDA (float32): the loss itself [] instead of row losses (`row_losses` [B] is scratch, summed
// in a fixed order); the dense gradients are summed with atomics, so their last bits may differ
// between runs.
void gathered_loss_forward_cuda(const float* user_vectors, const float* item_vectors,
                                const int64_t* users, const int64_t* items,
                                const GatheredLossSizes& sizes, LossKind kind, double* row_losses,
                                float* coefficients, float* loss, Stream stream);
void gathered_loss_backward_cuda(const float* grad_loss, const float* user_vectors,
                                 const float* item_vectors, const int64_t* users,
                                 const int64_t* items, const GatheredLossSizes& sizes,
                                 const float* coefficients, bool per_row, float* grad_users,
                                 float* grad_items, Stream stream);

}  // namespace polyphony::kernels
