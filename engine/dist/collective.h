#pragma once
// The operations a data-parallel run needs from its group of processes. The trainer and the
// evaluator see only this; engine/dist/process_group.h implements it on PyTorch's c10d.

#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

namespace polyphony {

class Collective {
 public:
  virtual ~Collective() = default;
  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  // Replaces each tensor by its sum over the processes, in place.
  virtual void all_reduce_sum(std::vector<at::Tensor>& tensors) = 0;
  // Replaces each tensor by its maximum over the processes, in place.
  virtual void all_reduce_max(std::vector<at::Tensor>& tensors) = 0;
  // Copies rank 0's tensors into every process's, in place.
  virtual void broadcast_from_first(std::vector<at::Tensor>& tensors) = 0;
  // Waits until every process arrives.
  virtual void barrier() = 0;

  // This process's contiguous part [from, to) of `total` things (batch rows, users) split over
  // the processes: sizes differ by at most one and the parts cover everything once.
  struct Share {
    int64_t from, to;
  };
  Share share_of(int64_t total) const {
    return {total * rank() / world_size(), total * (rank() + 1) / world_size()};
  }
};

}  // namespace polyphony
