#pragma once
// Truncated-SVD item embeddings from item–item PPMI (Afchar et al., RecSys 2023, §3): the
// model-independent reference embedding behind the spikiness measure and the interest-diversity
// user groups.

#include <cstdint>

#include <ATen/core/Tensor.h>

namespace polyphony {

struct TruncatedSvdOptions {
  /// Rank K of the embedding.
  int64_t rank = 128;
  /// Item pairs co-occurring in fewer users' histories are dropped (the paper keeps count ≥ 2).
  int64_t min_cooccurrence = 2;
  /// Extra random directions of the randomized SVD (Halko et al., 2011, §4).
  int64_t oversampling = 10;
  /// Power iterations, which sharpen the spectrum before the range is taken.
  int64_t power_iterations = 4;
  /// Seed of the random test matrix.
  uint64_t seed = 0;
};

// Refuses options the embedding cannot be computed with (before any data is read).
void check_options(const TruncatedSvdOptions& options);

// PPMI of item co-occurrence: C = XᵀX without its diagonal (X the binary user × item matrix),
// pmi(i, j) = log(C_ij · T / (c_i · c_j)) with c_i = Σ_j C_ij and T = Σ_ij C_ij, kept where
// C_ij ≥ min_cooccurrence and pmi > 0. Returns a coalesced sparse COO double [I, I]. The cost
// grows with Σ_u n_u² (pairs of items per user).
at::Tensor ppmi_matrix(const at::Tensor& users, const at::Tensor& items, int64_t num_users,
                       int64_t num_items, int64_t min_cooccurrence);

// E = U_K S_K of the randomized truncated SVD of the PPMI matrix: double [I, K] (K capped at I);
// rows of items without any PPMI entry are zero.
at::Tensor truncated_svd_item_embeddings(const at::Tensor& users, const at::Tensor& items,
                                         int64_t num_users, int64_t num_items,
                                         const TruncatedSvdOptions& options);

}  // namespace polyphony
