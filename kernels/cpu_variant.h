#pragma once
// Included by each CPU kernel source (NAME_cpu.cpp), which the build compiles once per
// CpuCapability with that instruction set's flags and POLYPHONY_CPU_VARIANT naming it
// (cmake/CpuVariants.cmake). Each compilation instantiates the kernels for kThisCpuVariant only,
// so their symbols differ; helpers stay in an anonymous namespace, local to their compilation.

#include "kernels/cpu_capability.h"

#ifndef POLYPHONY_CPU_VARIANT
#error "compile CPU kernel sources with polyphony_cpu_kernel_variants (cmake/CpuVariants.cmake)"
#endif

namespace polyphony::kernels {

constexpr CpuCapability kThisCpuVariant = CpuCapability::POLYPHONY_CPU_VARIANT;

}  // namespace polyphony::kernels
