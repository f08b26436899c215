#include "kernels/prototype_side.h"

#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <torch/autograd.h>

#include <tuple>

#include "kernels/prototype_side_kernels.h"
#include "kernels/topk_prototype_filter.h"

namespace polyphony {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

bool kernels_take(const at::Tensor& t) {
  const auto type = t.scalar_type();
  if (t.is_cuda()) return type == at::kFloat;
  return t.device().is_cpu() && (type == at::kFloat || type == at::kDouble);
}

class PrototypeSideFunction : public torch::autograd::Function<PrototypeSideFunction> {
 public:
  // `kept` in [1, L]; the similarities occupy columns [similarity_column, + L) of the factor.
  // Returns the factor, and with a projection the similarities apart.
  // No projection: `projection` is [0, d] (an undefined input has no device for autograd).
  static tensor_list forward(AutogradContext* ctx, const at::Tensor& entities,
                             const at::Tensor& prototypes, const at::Tensor& projection,
                             int64_t kept, int64_t similarity_column) {
    const kernels::PrototypeSideSizes sizes{entities.size(0), prototypes.size(0), kept,
                                            projection.size(0), similarity_column};
    // Unfiltered on the CPU: cosines as one product of unit rows (BLAS), where the filter's
    // kernel would select every entry one by one. Otherwise the filter's kernels.
    const bool product = entities.is_cpu() && kept == sizes.prototypes;
    at::Tensor values, indices;
    if (product) {
      auto unit_entities = at::empty_like(entities), unit_prototypes = at::empty_like(prototypes);
      auto entity_norms = at::empty({sizes.rows}, entities.options());
      auto prototype_norms = at::empty({sizes.prototypes}, entities.options());
      AT_DISPATCH_FLOATING_TYPES(entities.scalar_type(), "unit_rows_cpu", [&] {
        for (auto [x, unit, norms] : {std::tuple{&entities, &unit_entities, &entity_norms},
                                      std::tuple{&prototypes, &unit_prototypes, &prototype_norms}})
          kernels::unit_rows_cpu<scalar_t>(x->const_data_ptr<scalar_t>(), x->size(0), x->size(1),
                                           unit->mutable_data_ptr<scalar_t>(),
                                           norms->mutable_data_ptr<scalar_t>());
      });
      values = at::mm(unit_entities, unit_prototypes.t());
      ctx->save_for_backward({entities, prototypes, projection, unit_entities, entity_norms,
                              unit_prototypes, prototype_norms});
    } else {
      values = at::empty({sizes.rows, kept}, entities.options());
      indices = at::empty({sizes.rows, kept}, entities.options().dtype(at::kLong));
      topk_prototype_filter_forward_into(entities, prototypes, kept, values, indices,
                                         kernels::KeptOrder::kAny);
      ctx->save_for_backward({entities, prototypes, projection, values, indices});
    }
    ctx->saved_data["product"] = product;
    ctx->saved_data["similarity_column"] = similarity_column;
    const auto projected = sizes.projected > 0 ? at::mm(entities, projection.t()) : at::Tensor();
    at::Tensor factor, similarities;
    const int64_t width = sizes.prototypes + sizes.projected;
    if (entities.is_cpu()) {
      factor = at::empty({sizes.rows, width}, entities.options());
      if (sizes.projected > 0)
        similarities = at::empty({sizes.rows, sizes.prototypes}, entities.options());
      AT_DISPATCH_FLOATING_TYPES(entities.scalar_type(), "place_side_cpu", [&] {
        kernels::place_side_cpu<scalar_t>(
            values.const_data_ptr<scalar_t>(),
            product ? nullptr : indices.const_data_ptr<int64_t>(), scalar_t(product ? 1 : 0),
            projected.defined() ? projected.const_data_ptr<scalar_t>() : nullptr, sizes,
            factor.mutable_data_ptr<scalar_t>(),
            similarities.defined() ? similarities.mutable_data_ptr<scalar_t>() : nullptr);
      });
    } else {
      // Every entry is written below unless the filter drops some.
      factor = kept < sizes.prototypes ? at::zeros({sizes.rows, width}, entities.options())
                                       : at::empty({sizes.rows, width}, entities.options());
      factor.narrow(1, similarity_column, sizes.prototypes).scatter_(1, indices, values);
      if (sizes.projected > 0) {
        factor.narrow(1, projection_column(sizes), sizes.projected).copy_(projected);
        similarities = factor.narrow(1, similarity_column, sizes.prototypes).clone();
      }
    }
    if (sizes.projected == 0) return {factor};
    return {factor, similarities};
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto &entities = saved[0], &prototypes = saved[1], &projection = saved[2];
    const bool product = ctx->saved_data["product"].toBool();
    const kernels::PrototypeSideSizes sizes{
        entities.size(0), prototypes.size(0), product ? prototypes.size(0) : saved[3].size(1),
        projection.size(0), ctx->saved_data["similarity_column"].toInt()};
    const at::Tensor grad_similarities = grads.size() > 1 ? grads[1] : at::Tensor();
    const auto grad =
        grads[0].defined()
            ? grads[0].contiguous()
            : at::zeros({sizes.rows, sizes.prototypes + sizes.projected}, entities.options());
    at::Tensor grad_values, grad_projected;
    if (entities.is_cpu()) {
      grad_values = at::empty({sizes.rows, sizes.kept}, grad.options());
      if (sizes.projected > 0)
        grad_projected = at::empty({sizes.rows, sizes.projected}, grad.options());
      const auto grad_sims =
          grad_similarities.defined() ? grad_similarities.contiguous() : grad_similarities;
      AT_DISPATCH_FLOATING_TYPES(entities.scalar_type(), "split_side_gradient_cpu", [&] {
        kernels::split_side_gradient_cpu<scalar_t>(
            grad.const_data_ptr<scalar_t>(),
            grad_sims.defined() ? grad_sims.const_data_ptr<scalar_t>() : nullptr,
            product ? nullptr : saved[4].const_data_ptr<int64_t>(), sizes,
            grad_values.mutable_data_ptr<scalar_t>(),
            grad_projected.defined() ? grad_projected.mutable_data_ptr<scalar_t>() : nullptr);
      });
    } else {
      auto grad_sims = grad.narrow(1, sizes.similarity_column, sizes.prototypes);
      if (grad_similarities.defined()) grad_sims = grad_sims + grad_similarities;
      grad_values = grad_sims.gather(1, saved[4]);
      if (sizes.projected > 0)
        grad_projected = grad.narrow(1, projection_column(sizes), sizes.projected);
    }
    TopkFilterGradients out;
    if (product) {
      const auto &unit_entities = saved[3], &entity_norms = saved[4];
      const auto &unit_prototypes = saved[5], &prototype_norms = saved[6];
      out.entities = at::mm(grad_values, unit_prototypes);
      out.prototypes = at::mm(grad_values.t(), unit_entities);
      AT_DISPATCH_FLOATING_TYPES(entities.scalar_type(), "unit_rows_backward_cpu", [&] {
        for (auto [unit, norms, g] :
             {std::tuple{&unit_entities, &entity_norms, &out.entities},
              std::tuple{&unit_prototypes, &prototype_norms, &out.prototypes}})
          kernels::unit_rows_backward_cpu<scalar_t>(
              unit->const_data_ptr<scalar_t>(), norms->const_data_ptr<scalar_t>(), unit->size(0),
              unit->size(1), g->mutable_data_ptr<scalar_t>());
      });
    } else {
      out = topk_prototype_filter_backward(grad_values, saved[3], saved[4], entities, prototypes);
    }
    at::Tensor grad_projection;
    if (sizes.projected > 0) {
      out.entities.addmm_(grad_projected, projection);
      grad_projection = at::mm(grad_projected.t(), entities);
    } else {
      grad_projection = at::zeros_like(projection);
    }
    return {out.entities, out.prototypes, grad_projection, at::Tensor(), at::Tensor()};
  }

 private:
  static int64_t projection_column(const kernels::PrototypeSideSizes& sizes) {
    return sizes.similarity_column == 0 ? sizes.prototypes : 0;
  }
};

// The same in plain differentiable operators.
PrototypeSide plain_side(const at::Tensor& entities, const at::Tensor& prototypes,
                         const at::Tensor& projection, int64_t k, PrototypeSideLayout layout) {
  auto similarities = topk_prototype_filter_dense(entities, prototypes, k);
  if (!projection.defined()) return {similarities, similarities};
  auto projected = at::mm(entities, projection.t());
  return {layout == PrototypeSideLayout::kSimilaritiesFirst ? at::cat({similarities, projected}, 1)
                                                            : at::cat({projected, similarities}, 1),
          similarities};
}

}  // namespace

PrototypeSide prototype_side(const at::Tensor& entities, const at::Tensor& prototypes,
                             const at::Tensor& projection, int64_t k, PrototypeSideLayout layout) {
  TORCH_CHECK(entities.dim() == 2 && prototypes.dim() == 2 && prototypes.size(0) >= 1 &&
                  prototypes.size(1) == entities.size(1) &&
                  prototypes.scalar_type() == entities.scalar_type() &&
                  prototypes.device() == entities.device(),
              "prototype side: entities [N, d] and prototypes [L ≥ 1, d] of one type and device, "
              "got ",
              entities.sizes(), " and ", prototypes.sizes());
  TORCH_CHECK(
      !projection.defined() || (projection.dim() == 2 && projection.size(1) == entities.size(-1) &&
                                projection.scalar_type() == entities.scalar_type() &&
                                projection.device() == entities.device()),
      "prototype side: the projection must be [F, d] like the entities, got ", projection.sizes());
  if (!kernels_take(entities)) return plain_side(entities, prototypes, projection, k, layout);
  const int64_t prototype_count = prototypes.size(0);
  const int64_t kept = k <= 0 || k >= prototype_count ? prototype_count : k;
  const int64_t similarity_column =
      layout == PrototypeSideLayout::kSimilaritiesFirst || !projection.defined()
          ? 0
          : projection.size(0);
  const auto out = PrototypeSideFunction::apply(
      entities.contiguous(), prototypes.contiguous(),
      projection.defined() ? projection.contiguous()
                           : at::empty({0, entities.size(1)}, entities.options()),
      kept, similarity_column);
  return {out[0], out.size() > 1 ? out[1] : out[0]};
}

}  // namespace polyphony
