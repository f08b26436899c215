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
// glibc's default maps a 24 MB block afresh (its threshold starts at 128 KiB and rises only when
// the process frees a larger mapped block), so that every step faulted its pages in again. The
// test first sets that default itself (other tests may have raised the threshold) and sees the
// block mapped, then makes the call and sees it come from the heap.
TEST(ProcessMemory, BlocksOfAFewMegabytesComeFromTheHeap) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer replaces glibc's malloc, whose settings this test checks";
#endif
  if (const char* tunables = std::getenv("GLIBC_TUNABLES");
      tunables && std::strstr(tunables, "glibc.malloc."))
    GTEST_SKIP() << "GLIBC_TUNABLES sets the allocator";
  constexpr size_t kBlock = 24 << 20;
  const auto mapped_blocks_while_holding_one = [&] {
    void* block = std::malloc(kBlock);
    EXPECT_NE(block, nullptr);
    std::memset(block, 1, kBlock);
    const auto mapped = mallinfo2().hblks;
    std::free(block);
    return mapped;
  };
  mallopt(M_MMAP_THRESHOLD, 128 << 10);  // glibc's starting value
  const auto mapped_before = mallinfo2().hblks;
  ASSERT_EQ(mapped_blocks_while_holding_one(), mapped_before + 1)
      << "glibc's default no longer maps such a block: this test cannot tell the call's effect";
  configure_process_memory();
  EXPECT_EQ(mapped_blocks_while_holding_one(), mapped_before);
}
#endif

}  // namespace
}  // namespace polyphony
