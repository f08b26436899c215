#pragma once
// Raw kernels of the top-k prototype filter (models.md, "Prototype top-k filtering"): no Torch
// types, so the CUDA side compiles with nvcc alone. Shapes are row-major and contiguous:
// entities E [rows, dim], prototypes P [prototypes, dim], values and indices [rows, k].
//
// Forward: s_nl = 1 + cos(e_n, p_l) (shifted cosine; each norm clamped below at kNormEps), then
// the k first s_nl of each row in the order of `ranks_before`: descending, NaN after every number,
// ties to the lower prototype index. The k indices of a row are always valid and distinct, also
// when the row is not finite (a NaN or ±Inf entry makes every similarity of its row NaN).
// Backward: gradients of Σ grad_values ⊙ values w.r.t. E and P through the kept entries only.

#include <cstdint>

#include "kernels/common.h"
#include "kernels/cpu_capability.h"

namespace polyphony::kernels {

// Norms below this are clamped, as torch.nn.functional.cosine_similarity does.
constexpr double kNormEps = 1e-8;

// The filter's total order on (similarity, prototype index): larger first, NaN after every number
// (so a NaN never hides a number, and the order stays total), then the lower index first.
// `v != v` is the NaN test that host and device code share (no fast-math anywhere).
template <typename T, typename Index>
POLYPHONY_HOST_DEVICE inline bool ranks_before(T v, Index i, T w, Index j) {
  const bool v_nan = v != v, w_nan = w != w;
  if (v_nan != w_nan) return w_nan;
  if (!v_nan && v != w) return v > w;
  return i < j;
}

// Offers (v, l) to a row's kept list, sorted in the filter's order, of `kept` ≤ k entries (entry j
// at values[j * stride], indices[j * stride]); l must exceed every index already offered. The
// value enters when it ranks before the k-th, so each index enters at most once and the list
// holds the k first of the values offered, NaN included. Returns the new count. The CPU selects
// with it, and so does the CUDA forward for k > 32 (for smaller k it keeps a list of the same
// order in registers): a pass over the row, O(k log(L/k)) insertions on values in random order.
template <typename T, typename Index>
POLYPHONY_HOST_DEVICE inline Index offer_to_top_k(T v, Index l, T* values, Index* indices,
                                                  Index stride, Index kept, Index k) {
  if (kept == k && !ranks_before(v, l, values[(k - 1) * stride], indices[(k - 1) * stride]))
    return kept;
  Index j = kept < k ? kept++ : k - 1;
  for (; j > 0 && ranks_before(v, l, values[(j - 1) * stride], indices[(j - 1) * stride]); --j) {
    values[j * stride] = values[(j - 1) * stride];
    indices[j * stride] = indices[(j - 1) * stride];
  }
  values[j * stride] = v;
  indices[j * stride] = l;
  return kept;
}

struct TopkFilterSizes {
  int64_t rows = 0;
  int64_t prototypes = 0;
  int64_t dim = 0;
  int64_t k = 0;
};

// The order of a row's kept entries: the filter's (descending), or any order, for callers that
// only place them by index (the dense form): the same entries, and on the CPU a row without NaN
// is then selected faster, in prototype order.
enum class KeptOrder { kDescending, kAny };

// CPU, compiled once per CpuCapability (kernels/cpu_capability.h).
template <CpuCapability C, typename T>
void topk_filter_forward_cpu(const T* entities, const T* prototypes, const TopkFilterSizes& sizes,
                             KeptOrder order, T* values, int64_t* indices);

template <CpuCapability C, typename T>
void topk_filter_backward_cpu(const T* grad_values, const T* values, const int64_t* indices,
                              const T* entities, const T* prototypes, const TopkFilterSizes& sizes,
                              T* grad_entities, T* grad_prototypes);

// CUDA (float32). `workspace` holds workspace_floats(sizes) floats of device memory. The
// prototype gradient is summed in a fixed order (per-block partial sums without atomics, added in
// block order), so the gradients are bit-identical from run to run on one device.
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
