#include "models/inference_cache.h"

#include <ATen/core/grad_mode.h>

namespace polyphony {

std::vector<InferenceCache::Key> InferenceCache::keys_of(
    const std::vector<at::Tensor>& parameters) {
  std::vector<Key> keys;
  for (const auto& p : parameters) keys.push_back({p.data_ptr(), p._version(), p.scalar_type()});
  return keys;
}

const std::vector<at::Tensor>* InferenceCache::find(
    const std::vector<at::Tensor>& parameters) const {
  if (at::GradMode::is_enabled() || values_.empty() || keys_ != keys_of(parameters)) return nullptr;
  return &values_;
}

void InferenceCache::store(const std::vector<at::Tensor>& parameters,
                           std::vector<at::Tensor> values) {
  if (at::GradMode::is_enabled()) {
    keys_.clear();
    values_.clear();
    return;
  }
  keys_ = keys_of(parameters);
  values_ = std::move(values);
}

}  // namespace polyphony
