#pragma once
// xxHash behind one small interface: the checksums of checkpoints and caches, the fingerprints of
// splits and parameters, and the content key of the dataset cache. The algorithms are fixed per
// use, since stored files and logged fingerprints must keep their values.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace polyphony {

enum class HashAlgorithm { kXxh64, kXxh3_64, kXxh3_128 };

// One-shot 64-bit hashes (XXH64 with seed 0, XXH3-64).
uint64_t xxh64(const void* data, size_t size);
uint64_t xxh3_64(const void* data, size_t size);

// A hash over data given in pieces; its state is freed with it.
class StreamingHash {
 public:
  explicit StreamingHash(HashAlgorithm algorithm);
  ~StreamingHash();
  StreamingHash(const StreamingHash&) = delete;
  StreamingHash& operator=(const StreamingHash&) = delete;

  void update(const void* data, size_t size);
  // The 64-bit digest (XXH64, XXH3-64).
  uint64_t digest64() const;
  // The 128-bit digest in xxHash's canonical (big-endian) byte order (XXH3-128).
  std::array<uint8_t, 16> digest128() const;

 private:
  struct State;
  HashAlgorithm algorithm_;
  std::unique_ptr<State> state_;
};

}  // namespace polyphony
