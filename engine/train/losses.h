#pragma once
// Ranking losses over a positive score and its negatives (models.md, "Losses and negatives").
// positive [B, 1], negatives [B, n] -> scalar (mean over the batch).

#include <string>

#include <ATen/core/Tensor.h>

namespace polyphony {

// BPR: mean of −log σ(x_pos − x_neg) over every (positive, negative) pair.
at::Tensor bpr_loss(const at::Tensor& positive, const at::Tensor& negatives);
// Sampled softmax: mean of −x_pos + logsumexp([x_pos, x_negs]).
at::Tensor sampled_softmax_loss(const at::Tensor& positive, const at::Tensor& negatives);
// Binary cross-entropy, the positive weighted by the number of negatives n:
// mean over rows of (n · softplus(−x_pos) + Σ_j softplus(x_neg_j)) / (2n).
at::Tensor bce_loss(const at::Tensor& positive, const at::Tensor& negatives);

// The loss named `name` ("bpr", "softmax", "bce"); an unknown name is an error.
at::Tensor ranking_loss(const std::string& name, const at::Tensor& positive,
                        const at::Tensor& negatives);
bool is_known_loss(const std::string& name);

}  // namespace polyphony
