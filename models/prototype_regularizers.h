#pragma once
// Regularisers on prototype similarities and on prototypes themselves (models.md).

#include <string>

#include <ATen/core/Tensor.h>

namespace polyphony {

// ProtoMF eq. "R_{P→U}": −mean_l max_i S[i, l]: every prototype is near some entity of the batch.
// S [n, L] are the (filtered) shifted cosine similarities of the batch's entities.
at::Tensor prototypes_to_batch_loss(const at::Tensor& similarities);

// ProtoMF eq. "R_{U→P}": −mean_i max_l S[i, l]: every entity of the batch is near some prototype.
// With `slot_counts` [n], S holds each distinct entity once and the mean counts row i that many
// times (the batch's slots); the max over the batch in R_{P→U} needs no counts.
at::Tensor batch_to_prototypes_loss(const at::Tensor& similarities,
                                    const at::Tensor& slot_counts = {});

enum class OrthoForm {
  kDefault,   // ‖P̂ P̂ᵀ − I‖_F² = Σ_{i≠j} cos²(p_i, p_j)
  kOfficial,  // the official code's ‖(G − diag(G)) − I‖_F, unsquared
};

// The prototype-distributing (orthonormality) regulariser of Moradi et al. (arXiv 2405.17607)
// on prototypes P [L, d].
at::Tensor orthogonality_loss(const at::Tensor& prototypes, OrthoForm form);

// "default" or "official"; anything else is an error naming the option.
OrthoForm parse_ortho_form(const std::string& name);

}  // namespace polyphony
