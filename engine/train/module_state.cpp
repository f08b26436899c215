#include "engine/train/module_state.h"

#include <torch/nn/module.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>
#include <torch/utils.h>

#include <fmt/ranges.h>

#include "common/error.h"
#include "engine/io/hashing.h"

namespace polyphony {
namespace {

void load_recursively(torch::nn::Module& module, torch::serialize::InputArchive& archive,
                      const std::string& source, const std::string& prefix) {
  auto copy_in = [&](const std::string& name, at::Tensor& target, bool is_buffer) {
    at::Tensor stored;
    if (!archive.try_read(name, stored, is_buffer))
      fail("{} has no tensor '{}{}': it was saved from another model", source, prefix, name);
    if (stored.sizes() != target.sizes())
      fail("{}: tensor '{}{}' has shape {}, the model expects {}", source, prefix, name,
           fmt::join(stored.sizes(), "x"), fmt::join(target.sizes(), "x"));
    torch::NoGradGuard no_grad;
    target.copy_(stored);
  };
  for (auto& p : module.named_parameters(/*recurse=*/false)) copy_in(p.key(), p.value(), false);
  for (auto& b : module.named_buffers(/*recurse=*/false)) copy_in(b.key(), b.value(), true);
  for (const auto& child : module.named_children()) {
    torch::serialize::InputArchive child_archive;
    if (!archive.try_read(child.key(), child_archive))
      fail("{} has no module '{}{}'", source, prefix, child.key());
    load_recursively(*child.value(), child_archive, source, prefix + child.key() + ".");
  }
}

}  // namespace

void load_module_state(torch::nn::Module& module, torch::serialize::InputArchive& archive,
                       const std::string& source) {
  load_recursively(module, archive, source, "");
}

std::string archive_bytes(torch::serialize::OutputArchive& archive) {
  std::string bytes;
  archive.save_to([&](const void* data, size_t size) {
    bytes.append(static_cast<const char*>(data), size);
    return size;
  });
  return bytes;
}

uint64_t module_fingerprint(const torch::nn::Module& module) {
  StreamingHash hash(HashAlgorithm::kXxh64);
  auto add = [&](const at::Tensor& tensor) {
    const auto bytes = tensor.detach().cpu().contiguous();
    hash.update(bytes.data_ptr(), bytes.nbytes());
  };
  for (const auto& p : module.parameters()) add(p);
  for (const auto& b : module.buffers()) add(b);
  return hash.digest64();
}

}  // namespace polyphony
