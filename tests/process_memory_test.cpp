// The process memory settings (engine/run/process_memory.h): the environment's choices are kept,
// and blocks of a few MB come from glibc's heap, not from fresh mappings.

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "engine/run/process_memory.h"

namespace polyphony {
namespace {

// Restores an environment variable when it goes out of scope.
class SavedVariable {
 public:
  explicit SavedVariable(const char* name) : name_(name) {
    if (const char* value = std::getenv(name)) value_ = value;
  }
  ~SavedVariable() {
    if (value_) {
      setenv(name_, value_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> value_;
};

TEST(ProcessMemory, HugePagesAreOnUnlessTheEnvironmentChose) {
  SavedVariable saved("THP_MEM_ALLOC_ENABLE");
  unsetenv("THP_MEM_ALLOC_ENABLE");
  configure_process_memory();
  EXPECT_STREQ(std::getenv("THP_MEM_ALLOC_ENABLE"), "1");
  setenv("THP_MEM_ALLOC_ENABLE", "0", 1);
  configure_process_memory();
  EXPECT_STREQ(std::getenv("THP_MEM_ALLOC_ENABLE"), "0");
}

#if defined(__GLIBC__)
// glibc's default would map a 24 MB block afresh (its adaptive threshold starts at 128 KiB), so
// that every step faulted its pages in again.
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
