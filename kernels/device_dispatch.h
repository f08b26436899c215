#pragma once
// The device dispatch every torch adapter of a kernel shares: a CUDA tensor runs the CUDA entry
// point (float32, under a guard for its device, on that device's current stream), a CPU tensor
// the CPU one; a build without the CUDA kernels answers a CUDA tensor with one clear error.

#include <ATen/core/Tensor.h>
#include <c10/util/Exception.h>

#include "kernels/common.h"

#ifdef POLYPHONY_WITH_CUDA
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace polyphony::kernels {

// Calls on_cuda(stream) when `tensor` is on a CUDA device, else on_cpu(); `kernel` names the
// kernel in errors. on_cuda is never called (nor emitted) in a build without CUDA. The CUDA
// kernels of floating values take float32 only; one of integers says so (`float32_on_cuda`).
template <typename OnCuda, typename OnCpu>
void dispatch_by_device(const at::Tensor& tensor, const char* kernel, OnCuda&& on_cuda,
                        OnCpu&& on_cpu, bool float32_on_cuda = true) {
  if (tensor.is_cuda()) {
#ifdef POLYPHONY_WITH_CUDA
    TORCH_CHECK(!float32_on_cuda || tensor.scalar_type() == at::kFloat, kernel,
                ": CUDA takes float32, got ", tensor.scalar_type());
    const c10::cuda::CUDAGuard guard(tensor.device());
    on_cuda(Stream{c10::cuda::getCurrentCUDAStream().stream()});
    return;
#else
    (void)on_cuda;
    (void)float32_on_cuda;
    TORCH_CHECK(false, kernel, ": this build has no CUDA kernels (POLYPHONY_CUDA=OFF)");
#endif
  }
  TORCH_CHECK(tensor.device().is_cpu(), kernel, ": unsupported device ", tensor.device());
  on_cpu();
}

}  // namespace polyphony::kernels
