#pragma once
// What the torch adapters of the kernels need to launch on CUDA: the current stream, and one error
// for builds without the CUDA kernels.

#include <c10/util/Exception.h>

#include "kernels/topk_prototype_filter_kernels.h"

#ifdef POLYPHONY_WITH_CUDA
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace polyphony::kernels {

#ifdef POLYPHONY_WITH_CUDA
inline Stream current_cuda_stream() { return c10::cuda::getCurrentCUDAStream().stream(); }
#endif

[[noreturn]] inline void fail_without_cuda(const char* kernel) {
  TORCH_CHECK(false, kernel, ": this build has no CUDA kernels (POLYPHONY_CUDA=OFF)");
}

}  // namespace polyphony::kernels
