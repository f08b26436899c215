// Any bytes read as each interaction file format: the reader either returns a log that keeps its
// contract or throws polyphony::Error (a message for the user); anything else is a finding.
// The first byte picks the format and the options, the rest is the file.

#include <cstdint>
#include <string>

#include "common/error.h"
#include "engine/data/interaction_formats.h"
#include "fuzz/scratch_file.h"

namespace {

void check_contract(const polyphony::InteractionLog& log) {
  using polyphony::fuzz::require;
  const size_t n = log.users.size();
  require(log.items.size() == n, "one item per user entry");
  require(log.weights.empty() || log.weights.size() == n, "one weight per interaction");
  require(log.timestamps.empty() || log.timestamps.size() == n, "one timestamp per interaction");
  require(log.parts.empty() || log.parts.size() == n, "one part per interaction");
  require(log.records >= static_cast<int64_t>(n), "records count every interaction kept");
  for (size_t k = 0; k < n; ++k) {
    require(log.users[k] >= 0 && log.users[k] < log.user_ids.size(), "user index in its id map");
    require(log.items[k] >= 0 && log.items[k] < log.item_ids.size(), "item index in its id map");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static const char* const kFormats[] = {"movielens", "ml100k", "lastfm-hetrec", "lfm", "csv"};
  const uint8_t choice = data[0];
  const std::string kind = kFormats[choice % 5];
  polyphony::ReadOptions options;
  if (choice & 0x08) options.min_weight = 3;
  if (choice & 0x10) options.delimiter = ';';
  if (choice & 0x20) {
    options.columns.weight = "rating";
    options.columns.timestamp = "time";
  }
  const auto path = polyphony::fuzz::write_scratch("interactions", data + 1, size - 1);
  try {
    check_contract(polyphony::read_interactions(kind, path, options));
  } catch (const polyphony::Error&) {
    // A clear error for malformed input is the expected outcome.
  }
  return 0;
}
