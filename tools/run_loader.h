#pragma once
// Reopening a run for eval, recommend and export: its data, rebuilt from the run's own arguments
// (command.json), checked against the fingerprint it was trained on, and its model with the
// saved parameters.

#include <filesystem>
#include <memory>
#include <string>

#include <c10/core/Device.h>

#include "engine/prepared_data.h"
#include "models/recommender.h"
#include "tools/train_options.h"

namespace polyphony::cli {

struct OpenedRun {
  std::filesystem::path directory;
  TrainSetup setup;
  PreparedData data;
  std::shared_ptr<Recommender> model;  // on the requested device, in eval mode
  std::string parameters_from;         // the file the parameters came from
};

// `path` is a run directory (parameters from its model.pt) or a checkpoint file in one
// (RUN/checkpoints/*.ckpt, e.g. best.ckpt). Errors name the path and what is wrong.
OpenedRun open_run(const std::filesystem::path& path, c10::Device device);

}  // namespace polyphony::cli
