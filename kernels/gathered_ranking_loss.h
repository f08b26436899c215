#pragma once
// A batch's ranking loss from the rows it scores, in one kernel each way: the scores
// s[b, j] = ⟨user row of users[b], item row of items[b, j]⟩ are never materialised as gathered
// rows [B, S, F], and the loss of ranking_losses.h, its derivatives and the tables' gradients come
// from the same pass. This is the hot path of every model whose training scores are inner
// products of table rows (MF; LightGCN over its propagated embeddings): about a tenth of the
// operators of gather, product, loss and their backward.

#include <ATen/core/Tensor.h>

#include "kernels/ranking_losses.h"

namespace polyphony {

// `loss` of the scores above (users [B], items [B, 1 + n]: each row's positive, then its
// negatives), a scalar with autograd for both tables. user_vectors [U, F] and item_vectors [I, F]
// share one floating dtype and device. With `row_sparse_gradients` the tables' gradients are
// sparse COO tensors holding a row per lookup (as an embedding lookup with sparse gradients
// gives), otherwise dense. CPU: Polyphony's kernel (compiled per CpuCapability; gradients summed
// per table row in batch order, so they do not depend on the thread count); CUDA: Polyphony's
// kernel (float32; dense gradients summed with atomics), or under
// at::globalContext().deterministicAlgorithms() LibTorch's gather, batched product and loss.
at::Tensor gathered_ranking_loss(const at::Tensor& user_vectors, const at::Tensor& item_vectors,
                                 const at::Tensor& users, const at::Tensor& items, RankingLoss loss,
                                 bool row_sparse_gradients = false);

// The same over one table holding both sides (LightGCN's propagated embeddings): user u is its
// row u (u < item_offset), item i its row item_offset + i. The gradient is dense.
at::Tensor gathered_ranking_loss(const at::Tensor& vectors, int64_t item_offset,
                                 const at::Tensor& users, const at::Tensor& items,
                                 RankingLoss loss);

}  // namespace polyphony
