// Torch adapter of the top-k prototype filter: argument checks, device dispatch to the raw CPU or
// CUDA kernels, and the autograd function.

#include "kernels/topk_prototype_filter.h"

#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <torch/autograd.h>

#include "kernels/device_dispatch.h"
#include "kernels/topk_prototype_filter_kernels.h"

namespace polyphony {
namespace {

kernels::TopkFilterSizes check_arguments(const at::Tensor& entities, const at::Tensor& prototypes,
                                         int64_t k) {
  TORCH_CHECK(entities.dim() == 2, "top-k prototype filter: entities must be [N, d], got ",
              entities.sizes());
  TORCH_CHECK(prototypes.dim() == 2, "top-k prototype filter: prototypes must be [L, d], got ",
              prototypes.sizes());
  TORCH_CHECK(entities.size(1) == prototypes.size(1), "top-k prototype filter: entity dimension ",
              entities.size(1), " differs from prototype dimension ", prototypes.size(1));
  TORCH_CHECK(prototypes.size(0) >= 1, "top-k prototype filter: there are no prototypes");
  TORCH_CHECK(k >= 1 && k <= prototypes.size(0),
              "top-k prototype filter: k must be in [1, L = ", prototypes.size(0), "], got ", k);
  TORCH_CHECK(entities.device() == prototypes.device(), "top-k prototype filter: entities on ",
              entities.device(), ", prototypes on ", prototypes.device());
  TORCH_CHECK(entities.scalar_type() == prototypes.scalar_type(),
              "top-k prototype filter: entities are ", entities.scalar_type(), ", prototypes ",
              prototypes.scalar_type());
  TORCH_CHECK(entities.is_contiguous() && prototypes.is_contiguous(),
              "top-k prototype filter: inputs must be contiguous");
  // The device and, on CUDA, float32 are checked by the dispatch.
  TORCH_CHECK(entities.scalar_type() == at::kFloat || entities.scalar_type() == at::kDouble,
              "top-k prototype filter: takes float32 or float64, got ", entities.scalar_type());
  return {entities.size(0), prototypes.size(0), entities.size(1), k};
}

class TopkPrototypeFilterFunction : public torch::autograd::Function<TopkPrototypeFilterFunction> {
 public:
  static torch::autograd::tensor_list forward(torch::autograd::AutogradContext* ctx,
                                              const at::Tensor& entities,
                                              const at::Tensor& prototypes, int64_t k,
                                              bool any_order) {
    auto values = at::empty({entities.size(0), k}, entities.options());
    auto indices = at::empty({entities.size(0), k}, entities.options().dtype(at::kLong));
    topk_prototype_filter_forward_into(
        entities, prototypes, k, values, indices,
        any_order ? kernels::KeptOrder::kAny : kernels::KeptOrder::kDescending);
    ctx->mark_non_differentiable({indices});
    ctx->save_for_backward({entities, prototypes, values, indices});
    return {values, indices};
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto& values = saved[2];
    auto grad_values = grads[0].defined() ? grads[0] : at::zeros_like(values);
    auto grad = topk_prototype_filter_backward(grad_values, values, saved[3], saved[0], saved[1]);
    return {grad.entities, grad.prototypes, at::Tensor(), at::Tensor()};
  }
};

}  // namespace

void topk_prototype_filter_forward_into(const at::Tensor& entities, const at::Tensor& prototypes,
                                        int64_t k, at::Tensor& values, at::Tensor& indices,
                                        kernels::KeptOrder order) {
  const auto sizes = check_arguments(entities, prototypes, k);
  TORCH_CHECK(values.sizes() == at::IntArrayRef({sizes.rows, k}) && values.is_contiguous() &&
                  values.scalar_type() == entities.scalar_type() &&
                  values.device() == entities.device(),
              "top-k prototype filter: values must be a contiguous [N, k] tensor like entities");
  TORCH_CHECK(indices.sizes() == values.sizes() && indices.is_contiguous() &&
                  indices.scalar_type() == at::kLong && indices.device() == entities.device(),
              "top-k prototype filter: indices must be a contiguous int64 [N, k] tensor");
  kernels::dispatch_by_device(
      entities, "top-k prototype filter",
      [&](kernels::Stream stream) {
        // Always the filter's order, which serves any order too.
        kernels::topk_filter_forward_cuda(entities.data_ptr<float>(), prototypes.data_ptr<float>(),
                                          sizes, values.data_ptr<float>(),
                                          indices.data_ptr<int64_t>(), stream);
      },
      [&] {
        AT_DISPATCH_FLOATING_TYPES(entities.scalar_type(), "topk_filter_forward_cpu", [&] {
          kernels::dispatch_by_cpu_capability([&](auto cpu) {
            kernels::topk_filter_forward_cpu<decltype(cpu)::value, scalar_t>(
                entities.data_ptr<scalar_t>(), prototypes.data_ptr<scalar_t>(), sizes, order,
                values.data_ptr<scalar_t>(), indices.data_ptr<int64_t>());
          });
        });
      });
}

TopkFilterGradients topk_prototype_filter_backward(const at::Tensor& grad_values,
                                                   const at::Tensor& values,
                                                   const at::Tensor& indices,
                                                   const at::Tensor& entities,
                                                   const at::Tensor& prototypes) {
  const auto sizes = check_arguments(entities, prototypes, values.size(1));
  TORCH_CHECK(grad_values.sizes() == values.sizes() && indices.sizes() == values.sizes() &&
                  grad_values.scalar_type() == values.scalar_type(),
              "top-k prototype filter: gradients, values and indices must be [N, k] alike");
  const auto grad = grad_values.contiguous();
  TopkFilterGradients out{at::empty_like(entities), at::empty_like(prototypes)};
  kernels::dispatch_by_device(
      entities, "top-k prototype filter",
      [&](kernels::Stream stream) {
        auto workspace =
            at::empty({kernels::topk_filter_backward_workspace_floats(sizes)}, entities.options());
        kernels::topk_filter_backward_cuda(
            grad.data_ptr<float>(), values.data_ptr<float>(), indices.data_ptr<int64_t>(),
            entities.data_ptr<float>(), prototypes.data_ptr<float>(), sizes,
            out.entities.data_ptr<float>(), out.prototypes.data_ptr<float>(),
            workspace.data_ptr<float>(), stream);
      },
      [&] {
        AT_DISPATCH_FLOATING_TYPES(entities.scalar_type(), "topk_filter_backward_cpu", [&] {
          kernels::dispatch_by_cpu_capability([&](auto cpu) {
            kernels::topk_filter_backward_cpu<decltype(cpu)::value, scalar_t>(
                grad.data_ptr<scalar_t>(), values.data_ptr<scalar_t>(), indices.data_ptr<int64_t>(),
                entities.data_ptr<scalar_t>(), prototypes.data_ptr<scalar_t>(), sizes,
                out.entities.data_ptr<scalar_t>(), out.prototypes.data_ptr<scalar_t>());
          });
        });
      });
  return out;
}

TopkFiltered topk_prototype_filter(const at::Tensor& entities, const at::Tensor& prototypes,
                                   int64_t k, kernels::KeptOrder order) {
  const auto type = entities.scalar_type();
  if ((type == at::kBFloat16 || type == at::kHalf) && prototypes.scalar_type() == type) {
    // 16-bit inputs are filtered in float32: with 8 (bf16) or 11 (fp16) significant bits the
    // cosine's sums and the selection among close similarities would be unreliable. The casts
    // are differentiable, so gradients return in the inputs' type.
    auto kept = topk_prototype_filter(entities.to(at::kFloat), prototypes.to(at::kFloat), k, order);
    return {kept.values.to(type), kept.indices};
  }
  auto outputs = TopkPrototypeFilterFunction::apply(entities, prototypes, k,
                                                    order == kernels::KeptOrder::kAny);
  return {outputs[0], outputs[1]};
}

at::Tensor shifted_cosine_similarity(const at::Tensor& entities, const at::Tensor& prototypes) {
  auto normalize = [](const at::Tensor& x) {
    return x / x.norm(2, {1}, /*keepdim=*/true).clamp_min(kernels::kNormEps);
  };
  return 1.0 + at::mm(normalize(entities), normalize(prototypes).t());
}

at::Tensor topk_prototype_filter_dense(const at::Tensor& entities, const at::Tensor& prototypes,
                                       int64_t k) {
  if (k <= 0 || k >= prototypes.size(0)) return shifted_cosine_similarity(entities, prototypes);
  // Placed by index, so in any order (on the CPU a faster selection).
  auto kept = topk_prototype_filter(entities, prototypes, k, kernels::KeptOrder::kAny);
  return at::zeros({entities.size(0), prototypes.size(0)}, kept.values.options())
      .scatter(1, kept.indices, kept.values);
}

}  // namespace polyphony
