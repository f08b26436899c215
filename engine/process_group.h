#pragma once
// Multi-process data parallelism on PyTorch's own c10d: a TCPStore rendezvous at
// MASTER_ADDR:MASTER_PORT and a process group, NCCL for CUDA tensors and Gloo for CPU tensors.
// The variables are the ones torchrun, `srun` wrappers and other launchers set.

#include <memory>
#include <optional>
#include <string>

#include <c10/core/Device.h>

#include "engine/collective.h"

namespace polyphony {

struct LaunchEnvironment {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  std::string master_address = "127.0.0.1";
  int master_port = 29500;
};

// RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT; nothing when WORLD_SIZE is unset.
// A malformed or inconsistent value is an error naming the variable.
std::optional<LaunchEnvironment> launch_environment();

// Joins the group described by `environment`, for tensors on `device` (Gloo on the CPU, NCCL on
// CUDA). Gradients are reduced in flat buckets of about `bucket_mb` megabytes.
std::unique_ptr<Collective> join_process_group(const LaunchEnvironment& environment,
                                               c10::Device device, double bucket_mb = 25.0);

}  // namespace polyphony
