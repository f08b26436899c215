// The launcher's environment variables, read as torchrun sets them, and refused when malformed.

#include <stdlib.h>

#include "engine/dist/process_group.h"
#include "tests/test_support.h"

namespace polyphony {
namespace {

using testing::error_of;

// Sets the variables for the test's duration and restores the previous environment after.
class LaunchVariables {
 public:
  explicit LaunchVariables(const std::vector<std::pair<std::string, std::string>>& values) {
    for (const auto& [name, value] : values) ::setenv(name.c_str(), value.c_str(), 1);
  }

 private:
  testing::ScopedEnvironment saved_{
      {"WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT", "POLYPHONY_DIST_BACKEND"}};
};

TEST(LaunchEnvironment, AbsentWithoutWorldSize) {
  LaunchVariables none({});
  EXPECT_FALSE(launch_environment());
}

TEST(LaunchEnvironment, ReadsTorchrunVariables) {
  LaunchVariables vars({{"WORLD_SIZE", "4"},
                        {"RANK", "3"},
                        {"LOCAL_RANK", "1"},
                        {"MASTER_ADDR", "node7"},
                        {"MASTER_PORT", "29555"}});
  const auto e = launch_environment();
  ASSERT_TRUE(e);
  EXPECT_EQ(e->world_size, 4);
  EXPECT_EQ(e->rank, 3);
  EXPECT_EQ(e->local_rank, 1);
  EXPECT_EQ(e->master_address, "node7");
  EXPECT_EQ(e->master_port, 29555);
}

TEST(LaunchEnvironment, RefusesMalformedValuesNamingTheVariable) {
  {
    LaunchVariables vars({{"WORLD_SIZE", "2"}, {"RANK", "2"}});
    EXPECT_CONTAINS(error_of([] { launch_environment(); }), "RANK=2 must be below WORLD_SIZE=2");
  }
  {
    LaunchVariables vars({{"WORLD_SIZE", "two"}, {"RANK", "0"}});
    EXPECT_CONTAINS(error_of([] { launch_environment(); }), "WORLD_SIZE='two'");
  }
  {
    LaunchVariables vars({{"WORLD_SIZE", "2"}, {"RANK", "0"}, {"MASTER_PORT", "70000"}});
    EXPECT_CONTAINS(error_of([] { launch_environment(); }), "MASTER_PORT=70000 is not a port");
  }
}

TEST(LaunchEnvironment, BackendIsTheDevicesDefaultOrTheChosenOne) {
  const c10::Device cpu(c10::kCPU), cuda(c10::kCUDA);
  {
    LaunchVariables vars({{"WORLD_SIZE", "2"}, {"RANK", "1"}});
    const auto e = launch_environment();
    EXPECT_EQ(process_group_backend(*e, cpu), "gloo");
    EXPECT_EQ(process_group_backend(*e, cuda), "nccl");
  }
  {
    LaunchVariables vars({{"WORLD_SIZE", "2"}, {"RANK", "1"}, {"POLYPHONY_DIST_BACKEND", "gloo"}});
    EXPECT_EQ(process_group_backend(*launch_environment(), cuda), "gloo");
  }
  {
    LaunchVariables vars({{"WORLD_SIZE", "2"}, {"RANK", "1"}, {"POLYPHONY_DIST_BACKEND", "nccl"}});
    const auto e = launch_environment();
    EXPECT_CONTAINS(error_of([&] { process_group_backend(*e, cpu); }),
                    "POLYPHONY_DIST_BACKEND=nccl: NCCL reduces CUDA tensors only");
  }
  {
    LaunchVariables vars({{"WORLD_SIZE", "2"}, {"RANK", "1"}, {"POLYPHONY_DIST_BACKEND", "mpi"}});
    EXPECT_CONTAINS(error_of([] { launch_environment(); }),
                    "POLYPHONY_DIST_BACKEND='mpi': expected nccl or gloo");
  }
}

// NCCL refuses two processes on one GPU: a LOCAL_RANK beyond the GPUs is a clear error up front;
// Gloo shares the GPUs round robin.
TEST(LaunchEnvironment, CudaDeviceOfAProcess) {
  {
    LaunchVariables vars({{"WORLD_SIZE", "4"}, {"RANK", "3"}, {"LOCAL_RANK", "3"}});
    const auto e = launch_environment();
    EXPECT_EQ(process_cuda_device(*e, 4), c10::Device(c10::kCUDA, 3));
    EXPECT_CONTAINS(error_of([&] { process_cuda_device(*e, 1); }),
                    "LOCAL_RANK=3: NCCL runs one process per GPU, and this machine shows 1 CUDA");
    EXPECT_CONTAINS(error_of([&] { process_cuda_device(*e, 0); }), "no CUDA device is visible");
  }
  {
    LaunchVariables vars({{"WORLD_SIZE", "4"},
                          {"RANK", "3"},
                          {"LOCAL_RANK", "3"},
                          {"POLYPHONY_DIST_BACKEND", "gloo"}});
    EXPECT_EQ(process_cuda_device(*launch_environment(), 2), c10::Device(c10::kCUDA, 1));
  }
}

}  // namespace
}  // namespace polyphony
