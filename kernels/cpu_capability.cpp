#include "kernels/cpu_capability.h"

#include <atomic>
#include <cstdlib>

#include "common/error.h"

namespace polyphony::kernels {
namespace {

constexpr const char* kEnvironmentVariable = "POLYPHONY_CPU_CAPABILITY";

void require_runs_here(CpuCapability wanted, const std::string& where) {
  const CpuCapability best = detected_cpu_capability();
  if (static_cast<int>(wanted) > static_cast<int>(best))
    fail("{}: this machine runs the CPU kernels' {} compilation at best, not {}", where,
         cpu_capability_name(best), cpu_capability_name(wanted));
}

CpuCapability initial_cpu_capability() {
  const char* text = std::getenv(kEnvironmentVariable);
  if (text == nullptr || *text == '\0') return detected_cpu_capability();
  const std::string where = fmt::format("{}={}", kEnvironmentVariable, text);
  const CpuCapability wanted = parse_cpu_capability(text, where);
  require_runs_here(wanted, where);
  return wanted;
}

// Read by every kernel call, written by set_cpu_capability: an atomic, so that a test may change
// it while no kernel runs without a data race on the value itself.
std::atomic<CpuCapability>& chosen_cpu_capability() {
  static std::atomic<CpuCapability> chosen{initial_cpu_capability()};
  return chosen;
}

}  // namespace

const char* cpu_capability_name(CpuCapability capability) {
  switch (capability) {
    case CpuCapability::kBaseline:
      return "baseline";
    case CpuCapability::kAvx2:
      return "avx2";
    case CpuCapability::kAvx512:
      return "avx512";
  }
  return "unknown";
}

CpuCapability detected_cpu_capability() {
#if defined(__x86_64__) && defined(__GNUC__)
  // GCC's checks include the operating system's support for the wider registers (XGETBV).
  __builtin_cpu_init();
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
    return CpuCapability::kAvx512;
  if (avx2) return CpuCapability::kAvx2;
#endif
  return CpuCapability::kBaseline;
}

std::vector<CpuCapability> available_cpu_capabilities() {
  std::vector<CpuCapability> out;
  for (int c = 0; c <= static_cast<int>(detected_cpu_capability()); ++c)
    out.push_back(static_cast<CpuCapability>(c));
  return out;
}

CpuCapability cpu_capability() { return chosen_cpu_capability().load(std::memory_order_relaxed); }

void set_cpu_capability(CpuCapability capability) {
  require_runs_here(capability, "set_cpu_capability");
  chosen_cpu_capability().store(capability, std::memory_order_relaxed);
}

CpuCapability parse_cpu_capability(const std::string& text, const std::string& where) {
  for (const auto c : {CpuCapability::kBaseline, CpuCapability::kAvx2, CpuCapability::kAvx512})
    if (text == cpu_capability_name(c)) return c;
  fail("{}: unknown CPU capability '{}' (choose baseline, avx2 or avx512)", where, text);
}

}  // namespace polyphony::kernels
