// The process memory settings (engine/run/process_memory.h): the environment's choices are kept,
// and blocks of a few MB come from glibc's heap, not from fresh mappings.

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "engine/run/process_memory.h"
#include "tests/test_support.h"

namespace polyphony {
namespace {

TEST(ProcessMemory, HugePagesAreOnUnlessTheEnvironmentChose) {
  const testing::ScopedEnvironment saved({"THP_MEM_ALLOC_ENABLE"});
  configure_process_memory();
  EXPECT_STREQ(std::getenv("THP_MEM_ALLOC_ENABLE"), "1");
  setenv("THP_MEM_ALLOC_ENABLE", "0", 1);
  configure_process_memory();
  EXPECT_STREQ(std::getenv("THP_MEM_ALLOC_ENABLE"), "0");
}

#if defined(__GLIBC__)
// glibc's default maps a 24 MB block afresh (its adaptive threshold starts at 128 KiB and rises
// only when the process frees a larger mapped block), so that every step faulted its pages in
// again. Run alone, this fails without the call; after other tests it may pass either way.
TEST(ProcessMemory, BlocksOfAFewMegabytesComeFromTheHeap) {
  if (const char* tunables = std::getenv("GLIBC_TUNABLES");
      tunables && std::strstr(tunables, "glibc.malloc."))
    GTEST_SKIP() << "GLIBC_TUNABLES sets the allocator";
  configure_process_memory();
  const auto mapped_before = mallinfo2().hblks;
  void* block = std::malloc(24 << 20);
  ASSERT_NE(block, nullptr);
  std::memset(block, 1, 24 << 20);
  EXPECT_EQ(mallinfo2().hblks, mapped_before);
  std::free(block);
}
#endif

}  // namespace
}  // namespace polyphony
