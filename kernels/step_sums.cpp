#include "kernels/step_sums.h"

#include <ATen/ATen.h>
#include <ATen/record_function.h>
#include <c10/util/Exception.h>

#include "kernels/device_dispatch.h"
#include "kernels/step_sums_kernels.h"

namespace polyphony {
namespace {

// Points at a scalar's value on `health`'s device; `what` names it in errors.
const void* scalar_value(const at::Tensor& value, const at::Tensor& health, bool& is_double,
                         const char* what) {
  TORCH_CHECK(value.numel() == 1 && value.device() == health.device() &&
                  (value.scalar_type() == at::kFloat || value.scalar_type() == at::kDouble),
              "accumulate_step_terms: ", what, " must be a float32 or float64 scalar on ",
              health.device(), ", got ", value.scalar_type(), " ", value.sizes(), " on ",
              value.device());
  is_double = value.scalar_type() == at::kDouble;
  return value.data_ptr();
}

}  // namespace

void accumulate_step_terms(const at::Tensor& sums, const std::vector<at::Tensor>& terms,
                           const at::Tensor& also_finite, double share, const at::Tensor& health) {
  RECORD_FUNCTION("polyphony::accumulate_step_terms", std::vector<c10::IValue>());
  const auto count = static_cast<int64_t>(terms.size());
  TORCH_CHECK(count <= kernels::StepTerms::kMax, "accumulate_step_terms: at most ",
              kernels::StepTerms::kMax, " terms, got ", count);
  TORCH_CHECK(health.scalar_type() == at::kDouble && health.numel() == 2 && health.is_contiguous(),
              "accumulate_step_terms: health must be float64 [2]");
  TORCH_CHECK(count == 0 || (sums.defined() && sums.scalar_type() == at::kDouble &&
                             sums.numel() == count + 1 && sums.is_contiguous() &&
                             sums.device() == health.device()),
              "accumulate_step_terms: sums must be float64 [", count + 1, "] on ", health.device());
  kernels::StepTerms raw;
  raw.count = static_cast<int>(count);
  for (int k = 0; k < raw.count; ++k)
    raw.values[k] = scalar_value(terms[k], health, raw.is_double[k], "a term");
  if (also_finite.defined())
    raw.also_finite = scalar_value(also_finite, health, raw.also_finite_is_double, "also_finite");
  double* sums_data = count ? sums.data_ptr<double>() : nullptr;
  double* health_data = health.data_ptr<double>();
  kernels::dispatch_by_device(
      health, "accumulate_step_terms",
      [&](kernels::Stream stream) {
        kernels::accumulate_step_terms_cuda(raw, share, sums_data, health_data, stream);
      },
      [&] { kernels::accumulate_step_terms_cpu(raw, share, sums_data, health_data); },
      /*float32_on_cuda=*/false);
}

}  // namespace polyphony
