#pragma once
// Values a model computes from its parameters outside autograd (full propagation of a graph
// model, say) and reuses while the parameters stay unchanged: evaluation asks for every chunk of
// users, and recomputing the whole graph for each chunk would dominate its cost.

#include <vector>

#include <ATen/core/Tensor.h>

namespace polyphony {

class InferenceCache {
 public:
  // The values stored for exactly these parameters (same storage, same version counter), or
  // nothing when a parameter changed since (an optimiser step, a load, a move) or autograd is on.
  const std::vector<at::Tensor>* find(const std::vector<at::Tensor>& parameters) const;
  // Keeps `values` for `parameters` when autograd is off; with autograd on, forgets everything
  // (values then hold a graph that a backward pass frees).
  void store(const std::vector<at::Tensor>& parameters, std::vector<at::Tensor> values);

 private:
  struct Key {
    const void* data = nullptr;
    int64_t version = -1;
    c10::ScalarType dtype = c10::ScalarType::Undefined;
    bool operator==(const Key& other) const {
      return data == other.data && version == other.version && dtype == other.dtype;
    }
  };
  static std::vector<Key> keys_of(const std::vector<at::Tensor>& parameters);

  std::vector<Key> keys_;
  std::vector<at::Tensor> values_;
};

}  // namespace polyphony
