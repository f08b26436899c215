// Any bytes read as a tune file (TOML, beside a base config `base.toml`): the study as written,
// or polyphony::Error. Never an empty space or objective list, a dimension whose bounds or
// choices cannot be searched, or pruning with several objectives.

#include <cstdint>
#include <set>
#include <string>

#include "common/error.h"
#include "fuzz/scratch_file.h"
#include "tools/tune/tune_file.h"

namespace {

void check_dimension(const polyphony::cli::SpaceDimension& d, const std::string& path) {
  using polyphony::cli::SpaceKind;
  using polyphony::fuzz::require;
  require(d.where.rfind(path + ":", 0) == 0, "a dimension names the file");
  if (d.kind == SpaceKind::kCategorical) {
    require(d.choices.size() >= 2, "at least two choices");
    require(std::set<std::string>(d.choices.begin(), d.choices.end()).size() == d.choices.size(),
            "each choice once");
    return;
  }
  require(d.low < d.high, "low below high");
  require(!d.log || d.low > 0, "a log-uniform dimension above 0");
  require(d.step >= 0 && (d.kind != SpaceKind::kInt || d.step > 0), "a step Optuna takes");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using polyphony::fuzz::require;
  namespace cli = polyphony::cli;
  polyphony::fuzz::scratch_base_config();
  const auto path = polyphony::fuzz::write_scratch("tune.toml", data, size);
  try {
    const auto tune = cli::read_tune_file(path);
    require(tune.name == "tune", "the study is named after its file");
    require(!tune.base.empty(), "a study has a base config");
    require(tune.trials >= 1 && tune.trials <= cli::kMaxTrials, "the trial limit holds");
    require(!tune.objectives.empty(), "a study has objectives");
    std::set<std::string> metrics;
    for (const auto& o : tune.objectives) require(metrics.insert(o.metric).second, "each once");
    require(tune.objectives.size() == 1 || tune.pruner == "none", "pruning: one objective");
    require(!tune.space.empty(), "a study searches something");
    std::set<std::string> keys;
    for (const auto& d : tune.space) {
      require(keys.insert(d.key).second, "each dimension once");
      check_dimension(d, path.string());
    }
    require(cli::space_json(tune.space).size() == tune.space.size(), "the space as JSON");
  } catch (const polyphony::Error&) {
  }
  return 0;
}
