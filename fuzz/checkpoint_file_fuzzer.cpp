// Any bytes read as a checkpoint: a verified LibTorch archive, or polyphony::Error. Without help
// the fuzzer would rarely get past the checksum, so when the first byte is odd the rest is taken
// as the payload and sealed with a valid header (magic, format, size, checksums), and the
// archive reader itself meets the bytes.

#include <cstdint>
#include <string>

#include "common/error.h"
#include "engine/train/checkpoint.h"
#include "fuzz/scratch_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string rest(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::string file = (data[0] & 1) ? polyphony::checkpoint_file_bytes(rest) : rest;
  const auto path = polyphony::fuzz::write_scratch(
      "step-000000001.ckpt", reinterpret_cast<const uint8_t*>(file.data()), file.size());
  try {
    auto archive = polyphony::read_checkpoint_file(path);
    torch::serialize::InputArchive model;
    archive.try_read("model", model);
  } catch (const polyphony::Error&) {
  }
  return 0;
}
