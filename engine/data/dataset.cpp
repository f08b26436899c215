#include "engine/data/dataset.h"

#include <ATen/ATen.h>

namespace polyphony {

Interactions Interactions::select(const at::Tensor& index) const {
  Interactions out{users.index_select(0, index), items.index_select(0, index), {}, {}};
  if (weights.defined()) out.weights = weights.index_select(0, index);
  if (timestamps.defined()) out.timestamps = timestamps.index_select(0, index);
  return out;
}

Interactions Interactions::to(const at::Device& device) const {
  Interactions out{users.to(device), items.to(device), {}, {}};
  if (weights.defined()) out.weights = weights.to(device);
  if (timestamps.defined()) out.timestamps = timestamps.to(device);
  return out;
}

}  // namespace polyphony
