#pragma once
// Run-time choice among the compilations of the CPU kernels, as ATen does for its own: each
// NAME_cpu.cpp is compiled once per instruction set (the x86-64 baseline, AVX2 with FMA, AVX-512)
// into instantiations that differ only in their CpuCapability argument, and the torch-facing
// adapters call the best one this CPU runs. POLYPHONY_CPU_CAPABILITY=baseline|avx2|avx512 in
// the environment chooses a lower one (for comparisons and the parity tests); asking for one the
// CPU lacks is an error, never a crash.

#include <string>
#include <type_traits>
#include <vector>

namespace polyphony::kernels {

enum class CpuCapability { kBaseline = 0, kAvx2 = 1, kAvx512 = 2 };

const char* cpu_capability_name(CpuCapability capability);

// The best capability this CPU and operating system support: AVX2 needs FMA too, AVX-512 means
// the F, BW, VL and DQ subsets (as in ATen); off x86-64 always the baseline.
CpuCapability detected_cpu_capability();

// Every capability this machine can run, lowest first.
std::vector<CpuCapability> available_cpu_capabilities();

// The capability the kernels run with: POLYPHONY_CPU_CAPABILITY when set (read once), else the
// detected one.
CpuCapability cpu_capability();

// Chooses the capability from here on (the tests use it); refuses one this machine cannot run.
void set_cpu_capability(CpuCapability capability);

// Parses "baseline", "avx2" or "avx512"; `where` names the setting in the error.
CpuCapability parse_cpu_capability(const std::string& text, const std::string& where);

template <CpuCapability C>
using CpuCapabilityTag = std::integral_constant<CpuCapability, C>;

// Calls body(CpuCapabilityTag<C>{}) for the capability in use, so that a kernel's adapter
// instantiates the call of every compiled variant once and picks one per call.
template <typename Body>
decltype(auto) dispatch_by_cpu_capability(Body&& body) {
  switch (cpu_capability()) {
    case CpuCapability::kAvx512:
      return body(CpuCapabilityTag<CpuCapability::kAvx512>{});
    case CpuCapability::kAvx2:
      return body(CpuCapabilityTag<CpuCapability::kAvx2>{});
    case CpuCapability::kBaseline:
      break;
  }
  return body(CpuCapabilityTag<CpuCapability::kBaseline>{});
}

}  // namespace polyphony::kernels
