#include "kernels/finite_check.h"

#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/record_function.h>
#include <c10/util/Exception.h>

#include "kernels/device_dispatch.h"
#include "kernels/finite_check_kernels.h"

#ifdef POLYPHONY_WITH_CUDA
#include <cuda_runtime.h>

#include "kernels/cuda_check.cuh"
#endif

namespace polyphony {

bool all_finite(const std::vector<at::Tensor>& tensors) {
  RECORD_FUNCTION("polyphony::all_finite", std::vector<c10::IValue>());
  if (tensors.empty()) return true;
  const auto device = tensors.front().device();
  std::vector<at::Tensor> values;
  for (const auto& t : tensors) {
    TORCH_CHECK(
        t.device() == device && (t.scalar_type() == at::kFloat || t.scalar_type() == at::kDouble),
        "all_finite: float32 or float64 tensors on one device, got ", t.scalar_type(), " on ",
        t.device());
    values.push_back(t.contiguous());
  }
  bool finite = true;
  kernels::dispatch_by_device(
      values.front(), "all_finite",
      [&](kernels::Stream stream) {
#ifdef POLYPHONY_WITH_CUDA
        auto found = at::zeros({1}, values.front().options().dtype(at::kInt));
        for (const auto& v : values)
          AT_DISPATCH_FLOATING_TYPES(v.scalar_type(), "all_finite", [&] {
            kernels::find_nonfinite_cuda(v.data_ptr<scalar_t>(), v.numel(),
                                         found.data_ptr<int32_t>(), stream);
          });
        int32_t host = 0;
        kernels::cuda_check(cudaMemcpyAsync(&host, found.data_ptr<int32_t>(), sizeof(host),
                                            cudaMemcpyDeviceToHost, stream),
                            "cudaMemcpyAsync");
        kernels::cuda_check(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
        finite = host == 0;
#else
        (void)stream;
#endif
      },
      [&] {
        for (const auto& v : values)
          AT_DISPATCH_FLOATING_TYPES(v.scalar_type(), "all_finite", [&] {
            finite = finite && kernels::all_finite_cpu(v.data_ptr<scalar_t>(), v.numel());
          });
      },
      /*float32_on_cuda=*/false);
  return finite;
}

}  // namespace polyphony
