#pragma once
// Raw kernels of the top-k prototype filter (models.md, "Prototype top-k filtering"): no Torch
// types, so the CUDA side compiles with nvcc alone. Shapes are row-major and contiguous:
// entities E [rows, dim], prototypes P [prototypes, dim], values and indices [rows, k].
//
// Forward: s_nl = 1 + cos(e_n, p_l) (shifted cosine; each norm clamped below at kNormEps), then
// the k largest s_nl of each row in descending order, ties to the lower prototype index.
// Backward: gradients of Σ grad_values ⊙ values w.r.t. E and P through the kept entries only.

#include <cstdint>

struct CUstream_st;

namespace polyphony::kernels {

using Stream = CUstream_st*;  // a cudaStream_t

// Norms below this are clamped, as torch.nn.functional.cosine_similarity does.
constexpr double kNormEps = 1e-8;

struct TopkFilterSizes {
  int64_t rows = 0;
  int64_t prototypes = 0;
  int64_t dim = 0;
  int64_t k = 0;
};

template <typename T>
void topk_filter_forward_cpu(const T* entities, const T* prototypes, const TopkFilterSizes& sizes,
                             T* values, int64_t* indices);

template <typename T>
void topk_filter_backward_cpu(const T* grad_values, const T* values, const int64_t* indices,
                              const T* entities, const T* prototypes, const TopkFilterSizes& sizes,
                              T* grad_entities, T* grad_prototypes);

// CUDA (float32). `workspace` holds workspace_floats(sizes) floats of device memory.
int64_t topk_filter_backward_workspace_floats(const TopkFilterSizes& sizes);
void topk_filter_forward_cuda(const float* entities, const float* prototypes,
                              const TopkFilterSizes& sizes, float* values, int64_t* indices,
                              Stream stream);
void topk_filter_backward_cuda(const float* grad_values, const float* values,
                               const int64_t* indices, const float* entities,
                               const float* prototypes, const TopkFilterSizes& sizes,
                               float* grad_entities, float* grad_prototypes, float* workspace,
                               Stream stream);

}  // namespace polyphony::kernels
