#pragma once
// One row of a ranking loss and its derivatives, the same code on the CPU and CUDA
// (gathered_ranking_loss_cpu.cpp, gathered_ranking_loss.cu). The formulas are those of
// ranking_losses.h; their derivatives with respect to the scores:
//   BPR       ℓ = Σ_j softplus(s_j − s_0)                 ∂_j = σ(s_j − s_0), ∂_0 = −Σ_j ∂_j
//   softmax   ℓ = logsumexp(s) − s_0                      ∂_j = softmax(s)_j − [j = 0]
//   BCE       ℓ = (n softplus(−s_0) + Σ_j softplus(s_j)) / 2n   ∂_0 = −σ(−s_0)/2, ∂_j = σ(s_j)/2n
//   MSE       ℓ = (1 − σ(s_0))² + Σ_j σ(s_j)²             ∂_0 = −2σ_0(1 − σ_0)², ∂_j = 2σ_j²(1 −
//   σ_j)
// (j = 1..n the negatives), each ∂ divided by the loss's denominator (the mean).

#include <math.h>

#include <cstdint>

#include "kernels/common.h"
#include "kernels/gathered_ranking_loss_kernels.h"

namespace polyphony::kernels {
// Local to each compilation (kernels/cpu_variant.h says why): an AVX compilation's copy of an
// inline function could otherwise be the one every CPU runs.
namespace {

POLYPHONY_HOST_DEVICE inline double stable_softplus(double x) {
  return x > 0 ? x + ::log1p(::exp(-x)) : ::log1p(::exp(x));
}

POLYPHONY_HOST_DEVICE inline double stable_sigmoid(double x) {
  if (x >= 0) return 1.0 / (1.0 + ::exp(-x));
  const double e = ::exp(x);
  return e / (1.0 + e);
}

// `values` [S] holds the row's scores on entry and its coefficients (∂ℓ/∂s divided by
// `denominator`) on return; returns the row's loss term ℓ.
template <typename T>
POLYPHONY_HOST_DEVICE double ranking_loss_row(LossKind kind, T* values, int64_t slots,
                                              double denominator) {
  const double s0 = static_cast<double>(values[0]);
  const int64_t n = slots - 1;
  double loss = 0;
  switch (kind) {
    case LossKind::kBpr: {
      double sum = 0;
      for (int64_t j = 1; j < slots; ++j) {
        const double d = static_cast<double>(values[j]) - s0;
        loss += stable_softplus(d);
        const double g = stable_sigmoid(d);
        sum += g;
        values[j] = static_cast<T>(g / denominator);
      }
      values[0] = static_cast<T>(-sum / denominator);
      break;
    }
    case LossKind::kSoftmax: {
      double top = s0;
      for (int64_t j = 1; j < slots; ++j) top = fmax(top, static_cast<double>(values[j]));
      double total = 0;
      for (int64_t j = 0; j < slots; ++j) total += ::exp(static_cast<double>(values[j]) - top);
      const double log_total = top + ::log(total);
      loss = log_total - s0;
      for (int64_t j = 0; j < slots; ++j)
        values[j] = static_cast<T>(
            (::exp(static_cast<double>(values[j]) - log_total) - (j == 0 ? 1.0 : 0.0)) /
            denominator);
      break;
    }
    case LossKind::kBce: {
      const double two_n = 2.0 * static_cast<double>(n);
      loss = static_cast<double>(n) * stable_softplus(-s0);
      for (int64_t j = 1; j < slots; ++j) {
        const double s = static_cast<double>(values[j]);
        loss += stable_softplus(s);
        values[j] = static_cast<T>(stable_sigmoid(s) / two_n / denominator);
      }
      loss /= two_n;
      values[0] = static_cast<T>(-stable_sigmoid(-s0) / 2.0 / denominator);
      break;
    }
    case LossKind::kMse: {
      const double p0 = stable_sigmoid(s0);
      loss = (1 - p0) * (1 - p0);
      for (int64_t j = 1; j < slots; ++j) {
        const double p = stable_sigmoid(static_cast<double>(values[j]));
        loss += p * p;
        values[j] = static_cast<T>(2.0 * p * p * (1 - p) / denominator);
      }
      values[0] = static_cast<T>(-2.0 * p0 * (1 - p0) * (1 - p0) / denominator);
      break;
    }
  }
  return loss;
}

}  // namespace
}  // namespace polyphony::kernels
