#pragma once
// `train --tensorboard`: a run's metrics as TensorBoard event files in RUN/tensorboard/ — each
// metrics.jsonl line at its global step, the running loss every N steps when asked, the test
// metrics and the resolved config as the hparams plugin's session. TensorBoard never puts the
// training at risk: a failure to write is one warning, and the logging stops there.

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/track/tensorboard_writer.h"

namespace polyphony::cli {

// The folder of a run's event files.
inline constexpr const char* kTensorBoardFolder = "tensorboard";

// The hyper-parameters of a run: config.resolved.json flattened (flat_config).
std::vector<tensorboard::HParam> config_hparams(const nlohmann::json& config);

class TensorBoardLog {
 public:
  // `resumed_step`: the step a resumed run continues from (0 without a checkpoint). `group`: the
  // hparams session group (a sweep's point group; empty: the run alone).
  TensorBoardLog(const std::filesystem::path& run, std::optional<int64_t> resumed_step,
                 const nlohmann::json& config, const std::string& group);
  ~TensorBoardLog();

  void epoch(const nlohmann::json& epoch_line);
  // The running mean loss terms at `step` (as "steps/NAME").
  void losses(int64_t step, const std::map<std::string, double>& losses);
  // The test metrics ("test/NAME") and the end of the session.
  void finish(int64_t step, const std::map<std::string, double>& test_metrics);

 private:
  template <typename Write>
  void guarded(Write&& write);

  std::unique_ptr<TensorBoardWriter> writer_;
};

}  // namespace polyphony::cli
