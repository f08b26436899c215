// Any bytes read as an item or user attribute file (a header whose first column is the id): one
// value per requested id, or polyphony::Error. The first byte picks the column asked for.

#include <cstdint>
#include <string>
#include <vector>

#include "common/error.h"
#include "engine/data/attributes.h"
#include "fuzz/scratch_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static const char* const kColumns[] = {"country", "age", "gender", "id"};
  static const std::vector<std::string> kIds = {"1", "2", "a0", "x y", "Björk", ""};
  const auto path = polyphony::fuzz::write_scratch("attributes.tsv", data + 1, size - 1);
  try {
    const auto values = polyphony::read_attribute_column(path, kColumns[data[0] % 4], kIds);
    polyphony::fuzz::require(values.size() == kIds.size(), "one value per id");
  } catch (const polyphony::Error&) {
  }
  return 0;
}
