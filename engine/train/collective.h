#pragma once
// The operations a data-parallel run needs from its group of processes. The trainer and the
// evaluator see only this; engine/train/process_group.h implements it on PyTorch's c10d.

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
};

}  // namespace polyphony
