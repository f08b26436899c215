// Any bytes read as a run configuration (TOML): the settings of the file, or polyphony::Error.

#include <cstdint>
#include <string>

#include "common/error.h"
#include "fuzz/scratch_file.h"
#include "tools/options/config_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using polyphony::fuzz::require;
  const auto path = polyphony::fuzz::write_scratch("config.toml", data, size);
  try {
    const auto contents = polyphony::cli::read_config(path);
    require(!contents.settings.empty(), "a file without settings is refused");
    for (const auto& table : contents.tables) require(table.line >= 1, "each table has its line");
    for (const auto& s : contents.settings) {
      require(s.line >= 1, "each setting has its line");
      require(s.where.rfind(path.string() + ":", 0) == 0, "each setting names the file");
      require(!s.section.empty() || s.value.empty(), "a key above the tables has no value");
      require(!s.is_boolean || s.section.empty() || s.value == "true" || s.value == "false",
              "a boolean reads as true or false");
    }
  } catch (const polyphony::Error&) {
  }
  return 0;
}
