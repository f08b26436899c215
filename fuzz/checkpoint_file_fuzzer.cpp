// Any bytes read as a checkpoint: a verified LibTorch archive, or polyphony::Error. Without help
// the fuzzer would rarely get past the checksum, so when the first byte is odd the rest is taken
// as the payload and sealed with a valid header (magic, format, size, checksums), and the
// archive reader itself meets the bytes.

#include <cstdint>
#include <cstring>
#include <string>

#include "common/error.h"
#include "engine/io/hashing.h"
#include "engine/train/checkpoint.h"
#include "fuzz/scratch_file.h"

namespace {

// The header as engine/train/checkpoint.cpp writes it.
std::string sealed(const uint8_t* payload, size_t size) {
  struct {
    char magic[8] = {'P', 'O', 'L', 'Y', 'C', 'K', 'P', 'T'};
    uint32_t format = polyphony::kCheckpointFormat;
    uint32_t header_check = 0;  // 0: a header from before the header check, still accepted
    uint64_t payload_bytes = 0;
    uint64_t payload_checksum = 0;
  } header;
  static_assert(sizeof header == 32);
  header.payload_bytes = size;
  header.payload_checksum = polyphony::xxh64(payload, size);
  std::string out(reinterpret_cast<const char*>(&header), sizeof header);
  out.append(reinterpret_cast<const char*>(payload), size);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string file = (data[0] & 1)
                               ? sealed(data + 1, size - 1)
                               : std::string(reinterpret_cast<const char*>(data + 1), size - 1);
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
