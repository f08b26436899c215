// Any bytes read as a dataset cache: a dataset that keeps its contract, or polyphony::Error (the
// loader then rebuilds the cache). When the first byte is odd the rest is sealed with the
// checksum the file ends with and loaded under the key it holds, so the fuzzer reaches the
// layout checks behind the checksum.

#include <cstdint>
#include <cstring>
#include <string>

#include "common/error.h"
#include "engine/data/dataset_cache.h"
#include "engine/io/hashing.h"
#include "fuzz/scratch_file.h"

namespace {

using polyphony::fuzz::require;

void check_contract(const polyphony::Dataset& d) {
  const auto& x = d.interactions;
  const int64_t n = x.size();
  require(static_cast<int64_t>(d.user_ids.size()) == d.num_users, "one id per user");
  require(static_cast<int64_t>(d.item_ids.size()) == d.num_items, "one id per item");
  require(x.items.numel() == n, "one item per interaction");
  require(!x.weights.defined() || x.weights.numel() == n, "one weight per interaction");
  require(!x.timestamps.defined() || x.timestamps.numel() == n, "one timestamp per interaction");
  const auto* users = x.users.data_ptr<int64_t>();
  const auto* items = x.items.data_ptr<int64_t>();
  for (int64_t k = 0; k < n; ++k) {
    require(users[k] >= 0 && users[k] < d.num_users, "user index in range");
    require(items[k] >= 0 && items[k] < d.num_items, "item index in range");
  }
  if (d.predefined_part.defined()) {
    const auto* part = d.predefined_part.data_ptr<uint8_t>();
    for (int64_t k = 0; k < n; ++k) require(part[k] < 3, "part is train, valid or test");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string file(reinterpret_cast<const char*>(data + 1), size - 1);
  polyphony::CacheKey key{};
  constexpr size_t kKeyAt = 16 + 4;  // after the magic and the version
  if (file.size() >= kKeyAt + key.size()) std::memcpy(key.data(), file.data() + kKeyAt, key.size());
  if (data[0] & 1) {
    const uint64_t checksum = polyphony::xxh3_64(file.data(), file.size());
    file.append(reinterpret_cast<const char*>(&checksum), sizeof checksum);
  }
  const auto path = polyphony::fuzz::write_scratch(
      "cache.bin", reinterpret_cast<const uint8_t*>(file.data()), file.size());
  try {
    polyphony::PreprocessReport report;
    check_contract(polyphony::load_dataset_cache(path, key, report));
  } catch (const polyphony::Error&) {
  }
  return 0;
}
