// The run-time choice among the CPU kernels' compilations (kernels/cpu_capability.h); the kernels'
// parity suites run on each capability through tests/device_cases.h.

#include <gtest/gtest.h>

#include <string>

#include "common/error.h"
#include "kernels/cpu_capability.h"

namespace polyphony::kernels {
namespace {

constexpr CpuCapability kAll[] = {CpuCapability::kBaseline, CpuCapability::kAvx2,
                                  CpuCapability::kAvx512};

// Restores the capability in use when a test ends.
class CpuCapabilityChoice : public ::testing::Test {
 protected:
  void TearDown() override { set_cpu_capability(before_); }
  const CpuCapability before_ = cpu_capability();
};

TEST(CpuCapabilityNames, ParseBackAndUnknownNamesAreRefusedNamingTheSetting) {
  for (const auto c : kAll) EXPECT_EQ(parse_cpu_capability(cpu_capability_name(c), "test"), c);
  try {
    parse_cpu_capability("sse4", "POLYPHONY_CPU_CAPABILITY=sse4");
    FAIL() << "an unknown capability was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "POLYPHONY_CPU_CAPABILITY=sse4: unknown CPU capability 'sse4' (choose baseline, avx2 "
              "or avx512)");
  }
  EXPECT_THROW(parse_cpu_capability("", "test"), Error);
  EXPECT_THROW(parse_cpu_capability("AVX2", "test"), Error);
}

TEST(CpuCapabilityDetection, TheAvailableOnesRunFromTheBaselineToTheDetectedOne) {
  const auto available = available_cpu_capabilities();
  ASSERT_FALSE(available.empty());
  EXPECT_EQ(available.front(), CpuCapability::kBaseline);
  EXPECT_EQ(available.back(), detected_cpu_capability());
  EXPECT_EQ(available.size(), static_cast<size_t>(detected_cpu_capability()) + 1);
}

TEST_F(CpuCapabilityChoice, TheDispatchCallsTheChosenCompilation) {
  for (const auto c : available_cpu_capabilities()) {
    set_cpu_capability(c);
    EXPECT_EQ(cpu_capability(), c);
    const CpuCapability called = dispatch_by_cpu_capability([](auto tag) { return tag.value; });
    EXPECT_EQ(called, c) << cpu_capability_name(c);
  }
}

TEST_F(CpuCapabilityChoice, OneThisMachineCannotRunIsRefusedAndNothingChanges) {
  if (detected_cpu_capability() == CpuCapability::kAvx512)
    GTEST_SKIP() << "this CPU runs every compilation";
  set_cpu_capability(CpuCapability::kBaseline);
  try {
    set_cpu_capability(CpuCapability::kAvx512);
    FAIL() << "AVX-512 was accepted on a CPU without it";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not avx512"), std::string::npos) << e.what();
  }
  EXPECT_EQ(cpu_capability(), CpuCapability::kBaseline);
}

}  // namespace
}  // namespace polyphony::kernels
