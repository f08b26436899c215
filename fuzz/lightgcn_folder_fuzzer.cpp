// Any bytes read as a LightGCN folder (train.txt and test.txt, "user item item ..." per line):
// a log that keeps its contract, or polyphony::Error. The first two bytes give the length of
// train.txt; the rest of the input is test.txt.

#include <algorithm>
#include <cstdint>

#include "common/error.h"
#include "engine/data/interaction_formats.h"
#include "fuzz/scratch_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using polyphony::fuzz::require;
  if (size < 2) return 0;
  const size_t train = std::min<size_t>(size - 2, data[0] | (data[1] << 8));
  polyphony::fuzz::write_scratch("train.txt", data + 2, train);
  polyphony::fuzz::write_scratch("test.txt", data + 2 + train, size - 2 - train);
  try {
    const auto log =
        polyphony::read_interactions("lightgcn", polyphony::fuzz::scratch_folder(), {});
    require(log.items.size() == log.users.size(), "one item per user entry");
    require(log.parts.size() == log.users.size(), "a part for every interaction");
    for (size_t k = 0; k < log.users.size(); ++k) {
      require(log.parts[k] == 0 || log.parts[k] == 2, "train or test: no valid.txt here");
      require(log.users[k] >= 0 && log.users[k] < log.user_ids.size(), "user in its id map");
      require(log.items[k] >= 0 && log.items[k] < log.item_ids.size(), "item in its id map");
    }
  } catch (const polyphony::Error&) {
  }
  return 0;
}
