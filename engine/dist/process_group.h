#pragma once
// Multi-process data parallelism on PyTorch's own c10d: a TCPStore rendezvous at
// MASTER_ADDR:MASTER_PORT and a process group, NCCL for CUDA tensors and Gloo for CPU tensors.
// The variables are the ones torchrun, `srun` wrappers and other launchers set.

#include <memory>
#include <optional>
#include <string>

#include <c10/core/Device.h>

#include "engine/dist/collective.h"

namespace polyphony {

struct LaunchEnvironment {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  std::string master_address = "127.0.0.1";
  int master_port = 29500;
  // POLYPHONY_DIST_BACKEND: "nccl", "gloo", or empty for the device's default.
  std::string backend;
};

// RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT, POLYPHONY_DIST_BACKEND; nothing when
// WORLD_SIZE is unset. A malformed or inconsistent value is an error naming the variable.
std::optional<LaunchEnvironment> launch_environment();

// The c10d backend for tensors on `device`: the environment's choice, else NCCL on CUDA and Gloo
// on the CPU. Gloo also reduces CUDA tensors, so processes can share one GPU (NCCL refuses two
// processes on one GPU); NCCL on the CPU is an error naming POLYPHONY_DIST_BACKEND.
std::string process_group_backend(const LaunchEnvironment& environment, c10::Device device);

// The CUDA device of this process: GPU LOCAL_RANK. With NCCL, a LOCAL_RANK beyond the visible GPUs
// is an error saying so; with Gloo, processes share the GPUs round robin.
c10::Device process_cuda_device(const LaunchEnvironment& environment, int visible_gpus);

// Joins the group described by `environment`, for tensors on `device`, with
// process_group_backend's choice. Gradients are reduced in flat buckets of about `bucket_mb`
// megabytes.
std::unique_ptr<Collective> join_process_group(const LaunchEnvironment& environment,
                                               c10::Device device, double bucket_mb = 25.0);

}  // namespace polyphony
