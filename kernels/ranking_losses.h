#pragma once
// Ranking losses over a positive score and its negatives (models.md, "Losses and negatives"), in
// plain LibTorch operators: positive [B, 1], negatives [B, n] -> scalar (mean over the batch).
// kernels/gathered_ranking_loss.h computes the same losses in one kernel from gathered rows.

#include <optional>
#include <string>

#include <ATen/core/Tensor.h>

namespace polyphony {

enum class RankingLoss { kBpr, kSoftmax, kBce, kMse };

// "bpr", "softmax", "bce" or "mse"; nothing for another name.
std::optional<RankingLoss> parse_ranking_loss(const std::string& name);
const char* ranking_loss_name(RankingLoss loss);
bool is_known_loss(const std::string& name);

// BPR: mean of −log σ(x_pos − x_neg) over every (positive, negative) pair.
at::Tensor bpr_loss(const at::Tensor& positive, const at::Tensor& negatives);
// Sampled softmax: mean of −x_pos + logsumexp([x_pos, x_negs]).
at::Tensor sampled_softmax_loss(const at::Tensor& positive, const at::Tensor& negatives);
// Binary cross-entropy, the positive weighted by the number of negatives n:
// mean over rows of (n · softplus(−x_pos) + Σ_j softplus(x_neg_j)) / (2n).
at::Tensor bce_loss(const at::Tensor& positive, const at::Tensor& negatives);
// Squared error of sigmoid scores against 1 and 0, as the ReSN code trains (Lin et al., WSDM
// 2025): mean over rows of (1 − σ(x_pos))² + Σ_j σ(x_neg_j)².
at::Tensor sigmoid_mse_loss(const at::Tensor& positive, const at::Tensor& negatives);

// How a batch's loss terms combine: their mean (the default), or their sum, as some official
// codes train (ACF's loss_func_aggr='sum'), so that their regulariser weights carry over.
enum class LossReduction { kMean, kSum };

// The number of terms the mean of `loss` runs over for `positives` rows with `negatives` each:
// one per (positive, negative) pair for BPR, one per positive otherwise. The sum over a batch is
// the mean times this.
int64_t loss_terms(RankingLoss loss, int64_t positives, int64_t negatives);
int64_t loss_terms(const std::string& name, int64_t positives, int64_t negatives);

// `loss` of scores [B, 1 + n] (each row's positive first, then its negatives).
at::Tensor ranking_loss(RankingLoss loss, const at::Tensor& scores);
// The loss named `name` ("bpr", "softmax", "bce", "mse"); an unknown name is an error.
at::Tensor ranking_loss(const std::string& name, const at::Tensor& positive,
                        const at::Tensor& negatives);

}  // namespace polyphony
