#include "engine/io/hashing.h"

#include <cstring>

#define XXH_INLINE_ALL  // header-only (Debian's libxxhash-dev): nothing to link
#include <xxhash.h>

#include "common/error.h"

namespace polyphony {

uint64_t xxh64(const void* data, size_t size) { return XXH64(data, size, 0); }

uint64_t xxh3_64(const void* data, size_t size) { return XXH3_64bits(data, size); }

struct StreamingHash::State {
  XXH64_state_t xxh64;
  XXH3_state_t xxh3;
};

StreamingHash::StreamingHash(HashAlgorithm algorithm)
    : algorithm_(algorithm), state_(std::make_unique<State>()) {
  switch (algorithm_) {
    case HashAlgorithm::kXxh64:
      XXH64_reset(&state_->xxh64, 0);
      break;
    case HashAlgorithm::kXxh3_64:
      XXH3_INITSTATE(&state_->xxh3);
      XXH3_64bits_reset(&state_->xxh3);
      break;
    case HashAlgorithm::kXxh3_128:
      XXH3_INITSTATE(&state_->xxh3);
      XXH3_128bits_reset(&state_->xxh3);
      break;
  }
}

StreamingHash::~StreamingHash() = default;

void StreamingHash::update(const void* data, size_t size) {
  if (size == 0) return;
  switch (algorithm_) {
    case HashAlgorithm::kXxh64:
      XXH64_update(&state_->xxh64, data, size);
      break;
    case HashAlgorithm::kXxh3_64:
      XXH3_64bits_update(&state_->xxh3, data, size);
      break;
    case HashAlgorithm::kXxh3_128:
      XXH3_128bits_update(&state_->xxh3, data, size);
      break;
  }
}

uint64_t StreamingHash::digest64() const {
  if (algorithm_ == HashAlgorithm::kXxh64) return XXH64_digest(&state_->xxh64);
  if (algorithm_ == HashAlgorithm::kXxh3_64) return XXH3_64bits_digest(&state_->xxh3);
  fail("internal: a 64-bit digest of a 128-bit hash");
}

std::array<uint8_t, 16> StreamingHash::digest128() const {
  if (algorithm_ != HashAlgorithm::kXxh3_128) fail("internal: a 128-bit digest of a 64-bit hash");
  XXH128_canonical_t canonical;
  XXH128_canonicalFromHash(&canonical, XXH3_128bits_digest(&state_->xxh3));
  std::array<uint8_t, 16> out;
  std::memcpy(out.data(), canonical.digest, out.size());
  return out;
}

}  // namespace polyphony
