#pragma once
// ProtoMF's regularisers (models.md): the max-regularisers on a side's similarities (Melchiorre et
// al., RecSys 2022, §3.3) and the prototype-distributing regulariser (Moradi et al., arXiv
// 2405.17607). On the CPU each is one autograd node over raw loops
// (prototype_regularizers_cpu.cpp): in plain operators a UI-ProtoMF step spent about 300 operator
// calls on them. Off the CPU (CUDA, whose step is captured as one graph) and for other types they
// are the plain operators below.

#include <string>

#include <ATen/core/Tensor.h>

namespace polyphony {

// The weighted pair of one side, from one pass over its similarities S [n, L]:
//   prototypes_to_batch = λ_P · R_{P→·} = −λ_P mean_l max_i S[i, l]
//   batch_to_prototypes = λ_B · R_{·→P} = −λ_B mean_i max_l S[i, l]
// With `slot_counts` [n] (integers), S holds each distinct entity once and the second mean counts
// row i that many times (the batch's slots); the max over the batch needs no counts. Maxima route
// their gradient to the first index of the maximum, as at::max does.
struct MaxSimilarityTerms {
  at::Tensor prototypes_to_batch;  // scalars
  at::Tensor batch_to_prototypes;
};
MaxSimilarityTerms max_similarity_terms(const at::Tensor& similarities,
                                        const at::Tensor& slot_counts,
                                        double prototypes_to_batch_weight,
                                        double batch_to_prototypes_weight);

enum class OrthoForm {
  kDefault,   // ‖P̂ P̂ᵀ − I‖_F² = Σ_{i≠j} cos²(p_i, p_j)
  kOfficial,  // the official code's ‖(G − diag(G)) − I‖_F, unsquared
};

// λ · the prototype-distributing (orthonormality) regulariser on prototypes P [L, d], rows
// normalised by max(‖p‖, 1e-8).
at::Tensor orthogonality_term(const at::Tensor& prototypes, OrthoForm form, double weight);

// "default" or "official"; anything else is an error naming the option.
OrthoForm parse_ortho_form(const std::string& name);

// The same in plain operators, unweighted: the path off the CPU, and the tests' reference.
// ProtoMF eq. "R_{P→U}": every prototype is near some entity of the batch.
at::Tensor prototypes_to_batch_loss(const at::Tensor& similarities);
// ProtoMF eq. "R_{U→P}": every entity of the batch is near some prototype.
at::Tensor batch_to_prototypes_loss(const at::Tensor& similarities,
                                    const at::Tensor& slot_counts = {});
at::Tensor orthogonality_loss(const at::Tensor& prototypes, OrthoForm form);

}  // namespace polyphony
