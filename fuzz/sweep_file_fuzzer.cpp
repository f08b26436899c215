// Any bytes read as a sweep file (TOML, beside a base config `base.toml`): what the file plans,
// or polyphony::Error. Never a plan of more points than the limit, an empty axis, a value twice.

#include <algorithm>
#include <cstdint>
#include <set>
#include <string>

#include "common/error.h"
#include "fuzz/scratch_file.h"
#include "tools/sweep/sweep_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using polyphony::fuzz::require;
  namespace cli = polyphony::cli;
  polyphony::fuzz::scratch_base_config();
  const auto path = polyphony::fuzz::write_scratch("sweep.toml", data, size);
  try {
    const auto sweep = cli::read_sweep_file(path);
    require(sweep.name == "sweep", "the sweep is named after its file");
    require(!sweep.base.empty(), "a sweep has a base config");
    double points = static_cast<double>(std::max<size_t>(1, sweep.seeds.size()));
    for (const auto& axis : sweep.axes) {
      require(!axis.values.empty(), "an axis has values");
      require(std::set<std::string>(axis.values.begin(), axis.values.end()).size() ==
                  axis.values.size(),
              "an axis lists each value once");
      require(axis.where.rfind(path.string() + ":", 0) == 0, "an axis names the file");
      points *= static_cast<double>(axis.values.size());
    }
    for (const auto& setting : sweep.settings)
      require(setting.where.rfind(path.string() + ":", 0) == 0, "a setting names the file");
    std::set<std::string> folders;
    for (const auto& variant : sweep.variants) {
      require(folders.insert(cli::id_text(variant.name)).second, "variants' folders differ");
      for (const auto& axis : variant.axes) require(!axis.values.empty(), "an axis has values");
    }
    require(std::set<uint64_t>(sweep.seeds.begin(), sweep.seeds.end()).size() == sweep.seeds.size(),
            "each seed once");
    if (sweep.variants.empty())
      require(points <= static_cast<double>(cli::kMaxSweepPoints), "the point limit holds");
  } catch (const polyphony::Error&) {
  }
  return 0;
}
