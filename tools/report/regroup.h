#pragma once
// A sweep's finished points evaluated again under other item groups, without training again
// (`polyphony report SWEEP_DIR --item-groups SPEC [--item-attributes FILE]`): each point's model
// through `polyphony eval --write`, into POINT/regrouped/KEY/metrics.json, KEY a hash of the
// grouping and of the attribute file's contents, so a second report reuses them and a changed
// file is evaluated anew.

#include <filesystem>
#include <string>

namespace polyphony::cli {

struct Regrouping {
  std::string item_groups;                // as `polyphony train --item-groups` takes them
  std::filesystem::path item_attributes;  // empty: each run's own
  int jobs = 1;                           // evaluations at once
};

// Evaluates every finished point of the sweep in `sweep_dir` that has no such file yet and
// returns the metrics file's path relative to a point's run directory. A failed evaluation is an
// Error naming the point and its log.
std::string regroup_sweep(const std::filesystem::path& sweep_dir, const Regrouping& regrouping);

}  // namespace polyphony::cli
