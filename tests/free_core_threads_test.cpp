// The threads of a training beside other busy processes (engine/run/free_core_threads.h): the
// cores the others leave free, at least one, at most the limit; and a real busy process beside
// this one brings the count down to one.

#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "engine/run/free_core_threads.h"

namespace polyphony {
namespace {

TEST(FreeCoreThreads, TheCoresOthersLeaveFreeAtLeastOneAtMostTheLimit) {
  EXPECT_EQ(FreeCoreThreads::threads_for(0.0, 2, 2), 2);
  EXPECT_EQ(FreeCoreThreads::threads_for(0.3, 2, 2), 2);
  EXPECT_EQ(FreeCoreThreads::threads_for(0.7, 2, 2), 1);
  EXPECT_EQ(FreeCoreThreads::threads_for(2.0, 2, 2), 1);
  EXPECT_EQ(FreeCoreThreads::threads_for(5.0, 2, 2), 1);
  EXPECT_EQ(FreeCoreThreads::threads_for(3.2, 16, 8), 8);
  EXPECT_EQ(FreeCoreThreads::threads_for(10.0, 16, 8), 6);
}

TEST(FreeCoreThreads, ReadsTheBusyTimeOfItsOwnCpus) {
  const auto cpus = allowed_cpus();
  ASSERT_FALSE(cpus.empty());
  const auto before = cpu_busy_seconds(cpus);
  ASSERT_TRUE(before.has_value()) << "/proc/stat unreadable";
  // Half a second of this thread's work shows in its CPUs' busy time (ticks of 10 ms).
  const auto start = std::chrono::steady_clock::now();
  volatile double sink = 0;
  while (std::chrono::steady_clock::now() - start < std::chrono::milliseconds(500)) sink = sink + 1;
  EXPECT_GE(*cpu_busy_seconds(cpus) - *before, 0.3);
  EXPECT_FALSE(cpu_busy_seconds({1 << 20}).has_value()) << "a CPU that does not exist";
}

TEST(FreeCoreThreads, ABusyProcessBesideTakesTheCountToOne) {
  const int cores = static_cast<int>(allowed_cpus().size());
  if (cores < 2) GTEST_SKIP() << "one CPU: one thread whatever happens";
  const int threads = at::get_num_threads();
  at::set_num_threads(cores);
  // A child that keeps every CPU of this process busy until it is killed.
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    setpgid(0, 0);  // a group of its own, killed as one
    for (int i = 1; i < cores; ++i)
      if (fork() == 0) break;
    volatile double sink = 0;
    for (;;) sink = sink + 1;
  }
  setpgid(child, child);
  FreeCoreThreads governor(cores, std::chrono::milliseconds(400));
  EXPECT_FALSE(governor.update().has_value()) << "before the interval: nothing measured";
  std::this_thread::sleep_for(std::chrono::milliseconds(900));
  const auto chosen = governor.update();
  kill(-child, SIGKILL);
  waitpid(child, nullptr, 0);
  ASSERT_TRUE(chosen.has_value());
  EXPECT_EQ(*chosen, 1);
  EXPECT_EQ(at::get_num_threads(), 1);
  at::set_num_threads(threads);
}

}  // namespace
}  // namespace polyphony
