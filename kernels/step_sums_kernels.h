#pragma once
// Raw kernels of a training step's bookkeeping (kernels/step_sums.h): no Torch types.

#include <cstdint>

#include "kernels/common.h"

namespace polyphony::kernels {

// The step's loss terms: scalars of float32 or float64 (`is_double`), read on their device.
struct StepTerms {
  static constexpr int kMax = 16;
  const void* values[kMax] = {};
  bool is_double[kMax] = {};
  int count = 0;
  // Another scalar whose finiteness the step's health depends on (the clipped gradient norm), or
  // null.
  const void* also_finite = nullptr;
  bool also_finite_is_double = false;
};

// With total = Σ terms: sums[k] += share · term k, sums[count] += share · total (sums is null
// when count is 0); health[0] (1 or 0: every step so far finite) &= isfinite(total) and
// isfinite(also_finite); health[1] (steps before the first non-finite one) += health[0].
void accumulate_step_terms_cpu(const StepTerms& terms, double share, double* sums, double* health);
void accumulate_step_terms_cuda(const StepTerms& terms, double share, double* sums, double* health,
                                Stream stream);

// One term's value, the same on both paths.
POLYPHONY_HOST_DEVICE inline double step_term_value(const void* value, bool is_double) {
  return is_double ? *static_cast<const double*>(value)
                   : static_cast<double>(*static_cast<const float*>(value));
}

// The accumulation itself, the same on both paths.
POLYPHONY_HOST_DEVICE inline void accumulate_step_terms(const StepTerms& terms, double share,
                                                        double* sums, double* health) {
  double total = 0;
  for (int k = 0; k < terms.count; ++k) {
    const double value = step_term_value(terms.values[k], terms.is_double[k]);
    sums[k] += share * value;
    total += value;
  }
  if (terms.count > 0) sums[terms.count] += share * total;
  bool finite = total - total == 0;  // false for ±inf and NaN
  if (terms.also_finite) {
    const double other = step_term_value(terms.also_finite, terms.also_finite_is_double);
    finite = finite && other - other == 0;
  }
  health[0] = health[0] != 0 && finite ? 1.0 : 0.0;
  health[1] += health[0];
}

}  // namespace polyphony::kernels
