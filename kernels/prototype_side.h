#pragma once
// One side of ProtoMF (Melchiorre et al., RecSys 2022, §3; models.md "ProtoMF") as one autograd
// node: the entities' shifted cosine similarities to the prototypes, top-k filtered (Moradi et al.,
// arXiv 2405.17607), beside the entities' linear projection. In separate operators (the filter,
// its dense placement, the projection, the concatenation, each with its backward) a side cost
// about 90 operator calls per step; this is one node over the filter's own CPU and CUDA kernels
// (kernels/topk_prototype_filter.h) and one product each way.

#include <cstdint>

#include <ATen/core/Tensor.h>

namespace polyphony {

enum class PrototypeSideLayout {
  kSimilaritiesFirst,  // [S, E Wᵀ]: UI-ProtoMF's user side [u*, û]
  kProjectionFirst,    // [E Wᵀ, S]: its item side [t̂, t*]
};

struct PrototypeSide {
  at::Tensor factor;        // [N, L + F]: S and E Wᵀ side by side, as the layout says
  at::Tensor similarities;  // S [N, L], for the regularisers (the factor itself without W)
};

// entities E [N, d], prototypes P [L, d], projection W [F, d] or undefined (the factor is then S
// alone). S is 1 + cos(e_n, p_l) with the k largest of each row kept and the others zero (k <= 0
// or k >= L: none dropped), as topk_prototype_filter_dense. Gradients of both outputs reach E, P
// and W. Types the filter's kernels do not take (float64 on CUDA, 16-bit) run the same in plain
// operators.
PrototypeSide prototype_side(const at::Tensor& entities, const at::Tensor& prototypes,
                             const at::Tensor& projection, int64_t k, PrototypeSideLayout layout);

}  // namespace polyphony
