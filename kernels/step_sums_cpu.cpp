// CPU path of a training step's bookkeeping: a few scalars read and added in place.

#include "kernels/step_sums_kernels.h"

namespace polyphony::kernels {

void accumulate_step_terms_cpu(const StepTerms& terms, double share, double* sums, double* health) {
  accumulate_step_terms(terms, share, sums, health);
}

}  // namespace polyphony::kernels
