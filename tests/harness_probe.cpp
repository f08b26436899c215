// Misbehaves on request, after printing "ok", so that the test harness can show it fails such a
// test (tests/CMakeLists.txt, harness.*): clean | crash | exit-3 | report | ten-failures | leak.

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

// volatile: the compiler may neither drop the allocation nor keep a pointer to it around.
void* volatile leaked = nullptr;

}  // namespace

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "clean";
  std::printf("ok\n");
  std::fflush(stdout);
  if (std::strcmp(mode, "crash") == 0) std::abort();
  if (std::strcmp(mode, "exit-3") == 0) return 3;
  if (std::strcmp(mode, "report") == 0)
    std::fprintf(stderr, "==1==ERROR: AddressSanitizer: heap-use-after-free (a probe's line)\n");
  if (std::strcmp(mode, "ten-failures") == 0) std::printf("10 failure(s)\n");
  if (std::strcmp(mode, "leak") == 0) {
    leaked = std::malloc(4096);
    std::memset(leaked, 1, 4096);
    leaked = nullptr;
  }
  return 0;
}
