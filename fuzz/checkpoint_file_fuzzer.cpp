// Any bytes read as a checkpoint, and any archive structure behind a valid checksum, give a
// model's state or polyphony::Error.
//
// First byte even: the rest is the file, so the header, size and checksum checks meet arbitrary
// bytes. First byte odd: the rest describes an archive (keys, nested archives, values of any type,
// tensors of any dtype and shape) that LibTorch writes and the header seals; the reader and
// load_module_state then meet well-formed archives of the wrong shape. Arbitrary bytes behind a
// valid checksum are not fuzzed: only a forged file gets there, and LibTorch's unpickler trusts
// the sizes it reads (a crafted pickle can ask for any allocation, as with torch.load).

#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/serialize/output-archive.h>

#include "common/error.h"
#include "engine/train/checkpoint.h"
#include "engine/train/module_state.h"
#include "fuzz/scratch_file.h"

namespace {

// The names a checkpoint and the module below use, so that describing one is likely.
constexpr const char* kKeys[] = {"model",    "optimizer", "trainer", "best",  "rng",
                                 "metadata", "epoch",     "weight",  "bias",  "inner",
                                 "scale",    "p0",        "cpu",     "order", "loss_sums"};

at::Tensor fuzzed_tensor(FuzzedDataProvider& in) {
  const c10::ScalarType types[] = {at::kFloat, at::kDouble, at::kLong, at::kInt, at::kBool};
  const auto type = in.PickValueInArray(types);
  std::vector<int64_t> shape(in.ConsumeIntegralInRange<size_t>(0, 3));
  for (auto& size : shape) size = in.ConsumeIntegralInRange<int64_t>(0, 4);
  return at::full(shape, in.ConsumeIntegralInRange<int>(-2, 2), at::TensorOptions(type));
}

void write_fuzzed_archive(FuzzedDataProvider& in, torch::serialize::OutputArchive& out, int depth) {
  const int entries = in.ConsumeIntegralInRange(0, 6);
  std::set<std::string> written;  // an archive takes each key once
  for (int i = 0; i < entries && in.remaining_bytes() > 0; ++i) {
    const std::string key = in.PickValueInArray(kKeys);
    if (!written.insert(key).second) continue;
    switch (in.ConsumeIntegralInRange(0, depth < 3 ? 6 : 5)) {
      case 0:
        out.write(key, c10::IValue(in.ConsumeIntegral<int64_t>()));
        break;
      case 1:
        out.write(key, c10::IValue(in.ConsumeFloatingPoint<double>()));
        break;
      case 2:
        out.write(key, c10::IValue(in.ConsumeBool()));
        break;
      case 3:
        out.write(key, c10::IValue(in.ConsumeRandomLengthString(64)));
        break;
      case 4:
        out.write(key, fuzzed_tensor(in), /*is_buffer=*/false);
        break;
      case 5:
        out.write(key, fuzzed_tensor(in), /*is_buffer=*/true);
        break;
      default: {
        torch::serialize::OutputArchive child;
        write_fuzzed_archive(in, child, depth + 1);
        out.write(key, child);
      }
    }
  }
}

// A parameter, a buffer and a child module: what load_module_state walks.
struct SmallModule : torch::nn::Module {
  SmallModule() {
    register_parameter("weight", torch::zeros({2, 3}));
    register_buffer("scale", torch::ones({3}));
    auto inner = std::make_shared<torch::nn::Module>();
    inner->register_parameter("bias", torch::zeros({2}));
    register_module("inner", inner);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string file(reinterpret_cast<const char*>(data + 1), size - 1);
  if (data[0] & 1) {
    FuzzedDataProvider in(data + 1, size - 1);
    torch::serialize::OutputArchive archive;
    write_fuzzed_archive(in, archive, 0);
    file = polyphony::checkpoint_file_bytes(polyphony::archive_bytes(archive));
  }
  const auto path = polyphony::fuzz::write_scratch(
      "step-000000001.ckpt", reinterpret_cast<const uint8_t*>(file.data()), file.size());
  try {
    auto archive = polyphony::read_checkpoint_file(path);
    torch::serialize::InputArchive model;
    if (archive.try_read("model", model)) {
      SmallModule module;
      polyphony::load_module_state(module, model, path.string());
    }
  } catch (const polyphony::Error&) {
  }
  return 0;
}
