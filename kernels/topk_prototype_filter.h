#pragma once
// Top-k prototype filtering (Moradi et al., arXiv 2405.17607; models.md): the shifted cosine
// similarity 1 + cos(e_n, p_l) of each entity to each prototype, keeping the k largest per row
// (ties: lower prototype index) and zeroing the rest. One interface for CPU and CUDA, with
// autograd: gradients reach entities and prototypes through the kept entries only.

#include <cstdint>

#include <ATen/core/Tensor.h>

#include "kernels/topk_prototype_filter_kernels.h"

namespace polyphony {

struct TopkFiltered {
  at::Tensor values;   // [N, k], descending per row unless asked otherwise; differentiable
  at::Tensor indices;  // int64 [N, k]
};

// Compact form. entities [N, d], prototypes [L, d]: contiguous, same device, same type: float32,
// float64 on the CPU, or bfloat16/float16 (computed in float32, values returned in the inputs'
// type); 1 <= k <= L. Anything else is an error, never an illegal access. With KeptOrder::kAny
// the rows hold the same entries in any order.
TopkFiltered topk_prototype_filter(const at::Tensor& entities, const at::Tensor& prototypes,
                                   int64_t k,
                                   kernels::KeptOrder order = kernels::KeptOrder::kDescending);

// Dense form [N, L]: kept similarities in place, zeros elsewhere. k <= 0 or k >= L means no
// filtering: the plain shifted cosine similarity.
at::Tensor topk_prototype_filter_dense(const at::Tensor& entities, const at::Tensor& prototypes,
                                       int64_t k);

// The plain shifted cosine similarity [N, L], 1 + cos, in torch ops.
at::Tensor shifted_cosine_similarity(const at::Tensor& entities, const at::Tensor& prototypes);

// The forward kernel writing into given outputs (values [N, k], indices [N, k]), no autograd:
// for tests that poison the outputs first.
void topk_prototype_filter_forward_into(const at::Tensor& entities, const at::Tensor& prototypes,
                                        int64_t k, at::Tensor& values, at::Tensor& indices,
                                        kernels::KeptOrder order = kernels::KeptOrder::kDescending);

struct TopkFilterGradients {
  at::Tensor entities;    // [N, d]
  at::Tensor prototypes;  // [L, d]
};

// The backward kernel without autograd: the gradients of Σ grad_values ⊙ values (the compact
// form's values and indices [N, k]) with respect to entities and prototypes, through the kept
// entries only. For autograd functions that contain the filter (kernels/prototype_side.h).
TopkFilterGradients topk_prototype_filter_backward(const at::Tensor& grad_values,
                                                   const at::Tensor& values,
                                                   const at::Tensor& indices,
                                                   const at::Tensor& entities,
                                                   const at::Tensor& prototypes);

}  // namespace polyphony
