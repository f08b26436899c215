// CUDA path of a training step's bookkeeping: one thread, so that the step's loss sums and
// health stay on the device with one launch and no host read (and inside a captured graph).

#include <cuda_runtime.h>

#include "kernels/cuda_check.cuh"
#include "kernels/step_sums_kernels.h"

namespace polyphony::kernels {
namespace {

__global__ void accumulate_kernel(StepTerms terms, double share, double* sums, double* health) {
  accumulate_step_terms(terms, share, sums, health);
}

}  // namespace

void accumulate_step_terms_cuda(const StepTerms& terms, double share, double* sums, double* health,
                                Stream stream) {
  accumulate_kernel<<<1, 1, 0, stream>>>(terms, share, sums, health);
  cuda_check_launch("accumulate_step_terms");
}

}  // namespace polyphony::kernels
