#include "engine/dist/process_group.h"

#include <ATen/ops/cat.h>

#include <chrono>
#include <cstdlib>

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#if defined(POLYPHONY_WITH_CUDA) && defined(USE_C10D_NCCL) && __has_include(<nccl.h>)
#define POLYPHONY_WITH_NCCL 1
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include "common/error.h"
#include "engine/data/line_reader.h"

namespace polyphony {
namespace {

int integer_variable(const char* name, int fallback, int minimum) {
  const char* text = std::getenv(name);
  if (!text) return fallback;
  int64_t value = 0;
  if (!parse_int64(text, value) || value < minimum || value > (1 << 30))
    fail("environment variable {}='{}': expected an integer ≥ {}", name, text, minimum);
  return static_cast<int>(value);
}

class ProcessGroupCollective : public Collective {
 public:
  ProcessGroupCollective(c10::intrusive_ptr<c10d::Backend> backend, int rank, int world_size,
                         double bucket_mb)
      : backend_(std::move(backend)),
        rank_(rank),
        world_size_(world_size),
        bucket_bytes_(static_cast<int64_t>(bucket_mb * 1024 * 1024)) {}

  int rank() const override { return rank_; }
  int world_size() const override { return world_size_; }

  void all_reduce_sum(std::vector<at::Tensor>& tensors) override {
    all_reduce(tensors, c10d::ReduceOp::SUM);
  }
  void all_reduce_max(std::vector<at::Tensor>& tensors) override {
    all_reduce(tensors, c10d::ReduceOp::MAX);
  }

  void broadcast_from_first(std::vector<at::Tensor>& tensors) override {
    for (auto& t : tensors) {
      std::vector<at::Tensor> one{t};
      backend_->broadcast(one)->wait();
    }
  }

  void barrier() override { backend_->barrier()->wait(); }

 private:
  // Tensors of one dtype go out in flat buckets of about bucket_bytes_: one collective per bucket
  // instead of one per tensor (many small embedding gradients would each pay the latency).
  void all_reduce(std::vector<at::Tensor>& tensors, c10d::ReduceOp::RedOpType op) {
    c10d::AllreduceOptions options;
    options.reduceOp = c10d::ReduceOp(op);
    size_t first = 0;
    while (first < tensors.size()) {
      size_t last = first;
      int64_t bytes = 0;
      while (last < tensors.size() && tensors[last].scalar_type() == tensors[first].scalar_type() &&
             (last == first ||
              bytes + static_cast<int64_t>(tensors[last].nbytes()) <= bucket_bytes_)) {
        bytes += static_cast<int64_t>(tensors[last].nbytes());
        ++last;
      }
      std::vector<at::Tensor> flat_parts;
      for (size_t i = first; i < last; ++i) flat_parts.push_back(tensors[i].reshape({-1}));
      std::vector<at::Tensor> bucket{at::cat(flat_parts)};
      backend_->allreduce(bucket, options)->wait();
      int64_t offset = 0;
      for (size_t i = first; i < last; ++i) {
        const int64_t n = tensors[i].numel();
        tensors[i].copy_(bucket[0].narrow(0, offset, n).view_as(tensors[i]));
        offset += n;
      }
      first = last;
    }
  }

  c10::intrusive_ptr<c10d::Backend> backend_;
  int rank_;
  int world_size_;
  int64_t bucket_bytes_;
};

}  // namespace

std::optional<LaunchEnvironment> launch_environment() {
  if (!std::getenv("WORLD_SIZE")) return std::nullopt;
  LaunchEnvironment e;
  e.world_size = integer_variable("WORLD_SIZE", 1, 1);
  e.rank = integer_variable("RANK", 0, 0);
  e.local_rank = integer_variable("LOCAL_RANK", e.rank, 0);
  e.master_port = integer_variable("MASTER_PORT", e.master_port, 1);
  if (const char* address = std::getenv("MASTER_ADDR")) e.master_address = address;
  if (e.rank >= e.world_size)
    fail("environment variable RANK={} must be below WORLD_SIZE={}", e.rank, e.world_size);
  if (e.master_port > 65535)
    fail("environment variable MASTER_PORT={} is not a port", e.master_port);
  if (const char* backend = std::getenv("POLYPHONY_DIST_BACKEND")) {
    e.backend = backend;
    if (e.backend != "nccl" && e.backend != "gloo")
      fail("environment variable POLYPHONY_DIST_BACKEND='{}': expected nccl or gloo", e.backend);
  }
  return e;
}

std::string process_group_backend(const LaunchEnvironment& e, c10::Device device) {
  if (e.backend.empty()) return device.is_cuda() ? "nccl" : "gloo";
  if (e.backend == "nccl" && !device.is_cuda())
    fail(
        "environment variable POLYPHONY_DIST_BACKEND=nccl: NCCL reduces CUDA tensors only, and "
        "this run trains on the CPU (use gloo)");
  return e.backend;
}

c10::Device process_cuda_device(const LaunchEnvironment& e, int visible_gpus) {
  if (visible_gpus < 1) fail("training on CUDA, but no CUDA device is visible");
  const bool nccl = process_group_backend(e, c10::Device(c10::kCUDA)) == "nccl";
  if (nccl && e.local_rank >= visible_gpus)
    fail(
        "environment variable LOCAL_RANK={}: NCCL runs one process per GPU, and this machine "
        "shows {} CUDA device(s) (POLYPHONY_DIST_BACKEND=gloo lets processes share a GPU)",
        e.local_rank, visible_gpus);
  return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(e.local_rank % visible_gpus));
}

std::unique_ptr<Collective> join_process_group(const LaunchEnvironment& e, c10::Device device,
                                               double bucket_mb) {
  c10d::TCPStoreOptions store_options;
  store_options.port = static_cast<uint16_t>(e.master_port);
  store_options.isServer = e.rank == 0;
  store_options.numWorkers = e.world_size;
  store_options.waitWorkers = true;
  store_options.timeout = std::chrono::minutes(5);
  c10::intrusive_ptr<c10d::Store> store;
  try {
    store = c10::make_intrusive<c10d::TCPStore>(e.master_address, store_options);
  } catch (const std::exception& error) {
    fail("cannot reach the rendezvous at MASTER_ADDR={} MASTER_PORT={} as rank {} of {}: {}",
         e.master_address, e.master_port, e.rank, e.world_size, error.what());
  }
  c10::intrusive_ptr<c10d::Backend> backend;
  if (process_group_backend(e, device) == "nccl") {
#ifdef POLYPHONY_WITH_NCCL
    backend = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, e.rank, e.world_size);
#else
    fail("multi-process training on CUDA needs NCCL, which this build of polyphony lacks");
#endif
  } else {
    auto options = c10d::ProcessGroupGloo::Options::create();
    // GLOO_SOCKET_IFNAME picks the network interface, as in PyTorch; otherwise the address
    // this machine's hostname resolves to (loopback when it resolves to nothing).
    const char* interface = std::getenv("GLOO_SOCKET_IFNAME");
    options->devices.push_back(
        interface ? c10d::ProcessGroupGloo::createDeviceForInterface(interface)
                  : c10d::ProcessGroupGloo::createDefaultDevice());
    backend = c10::make_intrusive<c10d::ProcessGroupGloo>(store, e.rank, e.world_size, options);
  }
  return std::make_unique<ProcessGroupCollective>(std::move(backend), e.rank, e.world_size,
                                                  bucket_mb);
}

}  // namespace polyphony
