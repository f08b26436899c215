#pragma once
// Saved parameters and buffers: serialising, loading into an existing module, fingerprints.

#include <cstdint>
#include <string>

namespace torch::nn {
class Module;
}
namespace torch::serialize {
class InputArchive;
class OutputArchive;
}  // namespace torch::serialize

namespace polyphony {

// Copies every parameter and buffer of `module` (recursively) from `archive` into the existing
// tensors, so optimisers holding them keep working. torch::nn::Module::load would silently take
// tensors of any shape; this refuses a missing tensor or a shape mismatch, naming `source` (the
// file) and the tensor, so state from another model never loads.
void load_module_state(torch::nn::Module& module, torch::serialize::InputArchive& archive,
                       const std::string& source);

// The serialised bytes of `archive`, in memory: callers write them with write_file_atomically,
// because a write error inside LibTorch's zip writer ends in its destructor and aborts the
// process, while a full disk must be an ordinary error naming the file.
std::string archive_bytes(torch::serialize::OutputArchive& archive);

// xxHash-64 of the bytes of every parameter and buffer, in registration order: equal
// fingerprints mean bit-identical models (how resumed runs are checked against uninterrupted ones).
uint64_t module_fingerprint(const torch::nn::Module& module);

}  // namespace polyphony
