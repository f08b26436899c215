#include "models/prototype_regularizers.h"

#include <ATen/ATen.h>

#include "common/error.h"

namespace polyphony {

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
