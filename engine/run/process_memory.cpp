#include "engine/run/process_memory.h"

#include <cstdlib>
#include <cstring>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace polyphony {
namespace {

// glibc's largest mmap threshold on 64-bit systems (mallopt(3)): blocks below it come from the
// heap. The trim threshold is how much free memory the heap's top may hold before glibc returns
// it; well above one step's temporaries.
constexpr int kMmapThreshold = 32 << 20;
constexpr int kTrimThreshold = 256 << 20;

bool environment_sets(const char* variable, const char* part) {
  const char* value = std::getenv(variable);
  return value && std::strstr(value, part);
}

}  // namespace

void configure_process_memory() {
  // A step reads embedding rows scattered over tables of hundreds of MB; with 4 KiB pages each row
  // costs a TLB miss (docs/benchmarks.md). PyTorch reads the switch at its first allocation.
  setenv("THP_MEM_ALLOC_ENABLE", "1", /*overwrite=*/0);
#if defined(__GLIBC__)
  // A step allocates and frees the same temporaries of a few MB each (gathered rows, gradients).
  // By default glibc maps blocks of that size afresh or trims its heap when they are freed, so a
  // step faults in and clears new pages (2 MB each under huge pages) every time: half of a
  // one-thread MF step, and more or less from run to run as glibc's adaptive thresholds moved
  // (docs/benchmarks.md). Fixed thresholds keep them for the next step.
  if (!environment_sets("GLIBC_TUNABLES", "glibc.malloc.")) {
    mallopt(M_MMAP_THRESHOLD, kMmapThreshold);
    mallopt(M_TRIM_THRESHOLD, kTrimThreshold);
  }
#endif
}

}  // namespace polyphony
