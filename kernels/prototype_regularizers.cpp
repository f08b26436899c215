// Torch adapter of ProtoMF's regularisers: the CPU autograd functions over the raw loops, and the
// plain operators elsewhere.

#include "kernels/prototype_regularizers.h"

#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <torch/autograd.h>

#include <vector>

#include "common/error.h"
#include "kernels/prototype_regularizers_kernels.h"

namespace polyphony {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

bool on_cpu_kernels(const at::Tensor& t) {
  return t.device().is_cpu() && (t.scalar_type() == at::kFloat || t.scalar_type() == at::kDouble);
}

// A CPU scalar holding `value`, and the value of one (0 when undefined), without an operator each:
// these are every step's outputs and incoming gradients.
at::Tensor scalar_of(double value, const at::TensorOptions& options) {
  auto out = at::empty({}, options);
  AT_DISPATCH_FLOATING_TYPES(out.scalar_type(), "scalar_of", [&] {
    *out.mutable_data_ptr<scalar_t>() = static_cast<scalar_t>(value);
  });
  return out;
}

template <typename T>
double value_of(const at::Tensor& scalar) {
  return scalar.defined() ? static_cast<double>(*scalar.const_data_ptr<T>()) : 0.0;
}

// Row i's weight in batch_to_prototypes: −λ_B c_i / Σ c, with c = 1 without counts.
std::vector<double> row_weights(const at::Tensor& counts, int64_t rows, double weight) {
  std::vector<double> out(static_cast<size_t>(rows), -weight / static_cast<double>(rows));
  if (counts.numel() == 0) return out;
  const int64_t* c = counts.const_data_ptr<int64_t>();
  double total = 0;
  for (int64_t i = 0; i < rows; ++i) total += static_cast<double>(c[i]);
  for (int64_t i = 0; i < rows; ++i) out[i] = -weight * static_cast<double>(c[i]) / total;
  return out;
}

class MaxSimilarityFunction : public torch::autograd::Function<MaxSimilarityFunction> {
 public:
  // `counts`: int64 [n], or [0] for one slot per row (an undefined input has no device for
  // autograd); the weights are λ_P and λ_B.
  static tensor_list forward(AutogradContext* ctx, const at::Tensor& similarities,
                             const at::Tensor& counts, double prototypes_to_batch_weight,
                             double batch_to_prototypes_weight) {
    const auto s = similarities.contiguous();
    const int64_t rows = s.size(0), cols = s.size(1);
    const auto ids = s.options().dtype(at::kLong);
    auto column_arg = at::empty({cols}, ids), row_arg = at::empty({rows}, ids);
    const auto weights = row_weights(counts, rows, batch_to_prototypes_weight);
    double to_batch = 0, to_prototypes = 0;
    AT_DISPATCH_FLOATING_TYPES(s.scalar_type(), "similarity_maxima_cpu", [&] {
      std::vector<scalar_t> column_max(cols), row_max(rows);
      kernels::similarity_maxima_cpu<scalar_t>(s.const_data_ptr<scalar_t>(), rows, cols,
                                               column_max.data(),
                                               column_arg.mutable_data_ptr<int64_t>(),
                                               row_max.data(), row_arg.mutable_data_ptr<int64_t>());
      for (int64_t l = 0; l < cols; ++l) to_batch += static_cast<double>(column_max[l]);
      for (int64_t i = 0; i < rows; ++i) to_prototypes += weights[i] * row_max[i];
    });
    const double column_coefficient = -prototypes_to_batch_weight / static_cast<double>(cols);
    ctx->save_for_backward({counts, column_arg, row_arg});
    ctx->saved_data["column_coefficient"] = column_coefficient;
    ctx->saved_data["batch_to_prototypes_weight"] = batch_to_prototypes_weight;
    ctx->saved_data["cols"] = cols;
    return {scalar_of(column_coefficient * to_batch, s.options()),
            scalar_of(to_prototypes, s.options())};
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto& row_arg = saved[2];
    const int64_t rows = row_arg.size(0), cols = ctx->saved_data["cols"].toInt();
    const auto weights =
        row_weights(saved[0], rows, ctx->saved_data["batch_to_prototypes_weight"].toDouble());
    const auto& reference = grads[0].defined() ? grads[0] : grads[1];
    auto grad = at::empty({rows, cols}, reference.options());
    AT_DISPATCH_FLOATING_TYPES(grad.scalar_type(), "similarity_maxima_backward_cpu", [&] {
      const double g_columns = value_of<scalar_t>(grads[0]), g_rows = value_of<scalar_t>(grads[1]);
      std::vector<scalar_t> row_coefficients(rows);
      for (int64_t i = 0; i < rows; ++i)
        row_coefficients[i] = static_cast<scalar_t>(g_rows * weights[i]);
      kernels::similarity_maxima_backward_cpu<scalar_t>(
          saved[1].const_data_ptr<int64_t>(),
          static_cast<scalar_t>(g_columns * ctx->saved_data["column_coefficient"].toDouble()),
          row_arg.const_data_ptr<int64_t>(), row_coefficients.data(), rows, cols,
          grad.mutable_data_ptr<scalar_t>());
    });
    return {grad, at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

class OrthogonalityFunction : public torch::autograd::Function<OrthogonalityFunction> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& prototypes, bool official,
                            double weight) {
    const auto p = prototypes.contiguous();
    double value = 0;
    AT_DISPATCH_FLOATING_TYPES(p.scalar_type(), "orthogonality_cpu", [&] {
      value = kernels::orthogonality_cpu<scalar_t>(p.const_data_ptr<scalar_t>(), p.size(0),
                                                   p.size(1), official);
    });
    ctx->save_for_backward({p});
    ctx->saved_data["official"] = official;
    ctx->saved_data["weight"] = weight;
    ctx->saved_data["value"] = value;
    return scalar_of(weight * value, p.options());
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const auto p = ctx->get_saved_variables()[0];
    auto grad = at::empty_like(p);
    AT_DISPATCH_FLOATING_TYPES(p.scalar_type(), "orthogonality_backward_cpu", [&] {
      const double scale = value_of<scalar_t>(grads[0]) * ctx->saved_data["weight"].toDouble();
      kernels::orthogonality_backward_cpu<scalar_t>(
          p.const_data_ptr<scalar_t>(), p.size(0), p.size(1), ctx->saved_data["official"].toBool(),
          ctx->saved_data["value"].toDouble(), scale, grad.mutable_data_ptr<scalar_t>());
    });
    return {grad, at::Tensor(), at::Tensor()};
  }
};

}  // namespace

MaxSimilarityTerms max_similarity_terms(const at::Tensor& similarities,
                                        const at::Tensor& slot_counts,
                                        double prototypes_to_batch_weight,
                                        double batch_to_prototypes_weight) {
  TORCH_CHECK(similarities.dim() == 2 && similarities.size(0) > 0 && similarities.size(1) > 0,
              "max-similarity regularisers: similarities must be a non-empty [n, L], got ",
              similarities.sizes());
  TORCH_CHECK(!slot_counts.defined() || slot_counts.sizes() == similarities.sizes().slice(0, 1),
              "max-similarity regularisers: slot counts must be [n]");
  if (!on_cpu_kernels(similarities)) {
    return {prototypes_to_batch_weight * prototypes_to_batch_loss(similarities),
            batch_to_prototypes_weight * batch_to_prototypes_loss(similarities, slot_counts)};
  }
  const auto counts = slot_counts.defined()
                          ? slot_counts.to(at::kLong).contiguous()
                          : at::empty({0}, similarities.options().dtype(at::kLong));
  const auto out = MaxSimilarityFunction::apply(similarities, counts, prototypes_to_batch_weight,
                                                batch_to_prototypes_weight);
  return {out[0], out[1]};
}

at::Tensor orthogonality_term(const at::Tensor& prototypes, OrthoForm form, double weight) {
  TORCH_CHECK(prototypes.dim() == 2 && prototypes.size(0) > 0,
              "orthogonality regulariser: prototypes must be a non-empty [L, d], got ",
              prototypes.sizes());
  if (!on_cpu_kernels(prototypes)) return weight * orthogonality_loss(prototypes, form);
  return OrthogonalityFunction::apply(prototypes, form == OrthoForm::kOfficial, weight);
}

at::Tensor prototypes_to_batch_loss(const at::Tensor& similarities) {
  return -std::get<0>(similarities.max(0)).mean();
}

at::Tensor batch_to_prototypes_loss(const at::Tensor& similarities, const at::Tensor& slot_counts) {
  const auto nearest = std::get<0>(similarities.max(1));
  if (!slot_counts.defined()) return -nearest.mean();
  const auto counts = slot_counts.to(nearest.scalar_type());
  return -(nearest * counts).sum() / counts.sum();
}

at::Tensor orthogonality_loss(const at::Tensor& prototypes, OrthoForm form) {
  auto normalized = prototypes / prototypes.norm(2, {1}, /*keepdim=*/true).clamp_min(1e-8);
  auto gram = at::mm(normalized, normalized.t());
  auto identity = at::eye(gram.size(0), gram.options());
  if (form == OrthoForm::kOfficial) {
    return (gram - at::diag_embed(gram.diagonal()) - identity).pow(2).sum().sqrt();
  }
  return (gram - identity).pow(2).sum();
}

OrthoForm parse_ortho_form(const std::string& name) {
  if (name == "default") return OrthoForm::kDefault;
  if (name == "official") return OrthoForm::kOfficial;
  fail("ortho_form '{}': expected default or official", name);
}

}  // namespace polyphony
