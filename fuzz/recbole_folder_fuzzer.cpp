// Any bytes read as a RecBole dataset folder: the benchmark files NAME.train.inter and
// NAME.test.inter, then NAME.item as item attributes. A log that keeps its contract (a part for
// every interaction), one attribute value per id, or polyphony::Error. The first two bytes give
// the length of the train file, the next two the test file's; the rest is the item file. The
// first byte's low bit asks for explicit field names instead of RecBole's defaults.

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "common/error.h"
#include "engine/data/attributes.h"
#include "engine/data/interaction_formats.h"
#include "fuzz/scratch_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using polyphony::fuzz::require;
  if (size < 4) return 0;
  const size_t train = std::min<size_t>(size - 4, data[0] | (data[1] << 8));
  const size_t test = std::min<size_t>(size - 4 - train, data[2] | (data[3] << 8));
  const uint8_t* at = data + 4;
  const auto folder = polyphony::fuzz::scratch_folder() / "set";
  std::filesystem::create_directories(folder);
  polyphony::fuzz::write_scratch("set/set.train.inter", at, train);
  polyphony::fuzz::write_scratch("set/set.test.inter", at + train, test);
  const auto items =
      polyphony::fuzz::write_scratch("set/set.item", at + train + test, size - 4 - train - test);
  polyphony::ReadOptions options;
  if (data[0] & 1) {
    options.columns.user = "user_id";
    options.columns.item = "item_id";
    options.columns.weight = "none";
    options.columns.timestamp = "time";
  }
  try {
    const auto log = polyphony::read_interactions("recbole", folder, options);
    require(log.items.size() == log.users.size(), "one item per user entry");
    require(log.parts.size() == log.users.size(), "a part for every interaction");
    require(log.weights.empty() || log.weights.size() == log.users.size(), "a weight each");
    require(log.timestamps.empty() || log.timestamps.size() == log.users.size(), "a time each");
    for (size_t k = 0; k < log.users.size(); ++k) {
      require(log.parts[k] == 0 || log.parts[k] == 2, "train or test: no valid file here");
      require(log.users[k] >= 0 && log.users[k] < log.user_ids.size(), "user in its id map");
      require(log.items[k] >= 0 && log.items[k] < log.item_ids.size(), "item in its id map");
    }
  } catch (const polyphony::Error&) {
  }
  try {
    static const std::vector<std::string> kIds = {"1", "2", "a b", ""};
    const auto values = polyphony::read_attribute_column(items, "genre", kIds);
    require(values.size() == kIds.size(), "one value per id");
  } catch (const polyphony::Error&) {
  }
  return 0;
}
