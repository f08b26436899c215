#pragma once
// Included by each CPU kernel source (NAME_cpu.cpp), which the build compiles once per
// CpuCapability with that instruction set's flags and POLYPHONY_CPU_VARIANT naming it
// (cmake/CpuVariants.cmake). Each compilation instantiates the kernels for kThisCpuVariant only,
// so their symbols differ; helpers stay in an anonymous namespace, local to their compilation.

#include <cstdint>

#include "kernels/cpu_capability.h"

#ifndef POLYPHONY_CPU_VARIANT
#error "compile CPU kernel sources with polyphony_cpu_kernel_variants (cmake/CpuVariants.cmake)"
#endif

namespace polyphony::kernels {

constexpr CpuCapability kThisCpuVariant = CpuCapability::POLYPHONY_CPU_VARIANT;

// Local to each compilation, like every helper of a CPU kernel (docs/architecture.md).
namespace {

// One vector register of this compilation's instruction set (SSE2, AVX2, AVX-512) as a GCC vector
// type, for loops whose sums the compiler would otherwise keep in memory: aligned like T, since
// the rows the kernels read need not start on a register boundary.
constexpr int kVectorBytes = kThisCpuVariant == CpuCapability::kAvx512 ? 64
                             : kThisCpuVariant == CpuCapability::kAvx2 ? 32
                                                                       : 16;
template <typename T>
using Vector [[gnu::vector_size(kVectorBytes), gnu::aligned(alignof(T))]] = T;
template <typename T>
constexpr int64_t kLanes = kVectorBytes / sizeof(T);

template <typename T>
Vector<T> load_vector(const T* p) {
  return *reinterpret_cast<const Vector<T>*>(p);
}
// V = Vector<T>, which a template cannot deduce T from. By value: a deduced V loses Vector's
// reduced alignment, and a reference of it bound to a Vector<T> that is only aligned like T (a
// register's sum kept in an array) is undefined behaviour (UBSan: "reference binding to
// misaligned address", found once a machine with AVX-512 ran the sanitized suite).
template <typename T, typename V>
void store_vector(T* p, V v) {
  *reinterpret_cast<Vector<T>*>(p) = v;
}

// ⟨a, b⟩ over n values: a fixed-length loop over partial sums the compiler vectorises (it may not
// reorder one running sum), added up in a fixed order.
constexpr int64_t kPartialSums = 16;

template <typename T>
T vector_dot(const T* __restrict a, const T* __restrict b, int64_t n) {
  T lanes[kPartialSums] = {};
  int64_t f = 0;
  for (; f + kPartialSums <= n; f += kPartialSums)
    for (int64_t l = 0; l < kPartialSums; ++l) lanes[l] += a[f + l] * b[f + l];
  T sum = 0;
  for (; f < n; ++f) sum += a[f] * b[f];
  for (int64_t l = 0; l < kPartialSums; ++l) sum += lanes[l];
  return sum;
}

// out += scale · x over n values.
template <typename T>
void add_scaled(T* __restrict out, T scale, const T* __restrict x, int64_t n) {
  for (int64_t f = 0; f < n; ++f) out[f] += scale * x[f];
}

}  // namespace

}  // namespace polyphony::kernels
