// LibTorch's at::parallel_for is inline OpenMP: Polyphony's CPU kernels run in parallel only if
// their translation units are compiled with OpenMP. This test is compiled with the same flags.

#include <gtest/gtest.h>

#include <ATen/Parallel.h>

#include <atomic>

namespace polyphony {
namespace {

TEST(Build, ParallelLoopsRunOnSeveralThreads) {
  const int before = at::get_num_threads();
  at::set_num_threads(2);
  std::atomic<int> chunks_off_the_first_thread{0};
  at::parallel_for(0, 1024, 1, [&](int64_t, int64_t) {
    if (at::get_thread_num() != 0) ++chunks_off_the_first_thread;
  });
  at::set_num_threads(before);
  EXPECT_GT(chunks_off_the_first_thread.load(), 0)
      << "at::parallel_for ran on one thread: is the code compiled with OpenMP (-fopenmp)?";
}

}  // namespace
}  // namespace polyphony
