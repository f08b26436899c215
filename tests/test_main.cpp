#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>
#include <random>

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  // Tests draw fresh random inputs on every run; the seed is printed, and POLYPHONY_TEST_SEED
  // replays a failing run.
  uint64_t seed = std::random_device{}();
  if (const char* fixed = std::getenv("POLYPHONY_TEST_SEED"))
    seed = std::strtoull(fixed, nullptr, 10);
  torch::manual_seed(seed);
  std::printf("torch seed %llu (set POLYPHONY_TEST_SEED to replay)\n",
              static_cast<unsigned long long>(seed));
  return RUN_ALL_TESTS();
}
