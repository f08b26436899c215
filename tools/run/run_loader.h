#pragma once
// Reopening a run for eval, recommend and export: its data, rebuilt from the run's own arguments
// (command.json), checked against the fingerprint it was trained on, and its model with the
// saved parameters.

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include <c10/core/Device.h>
#include <cxxopts.hpp>

#include "engine/data/prepared_data.h"
#include "models/recommender.h"
#include "tools/options/train_options.h"

namespace polyphony::cli {

struct OpenedRun {
  std::filesystem::path directory;
  TrainSetup setup;
  PreparedData data;
  std::shared_ptr<Recommender> model;  // on the requested device, in eval mode
  std::string parameters_from;         // the file the parameters came from
};

// The positional RUN_DIR|CHECKPOINT argument (read back as "run") and --help, shared by the
// commands that reopen a run.
void add_run_argument(cxxopts::Options& spec);

// Parses the command line of `polyphony COMMAND`; nothing when --help was asked (the help is
// printed), an error when the run is missing.
std::optional<cxxopts::ParseResult> parse_run_command(cxxopts::Options& spec,
                                                      const std::string& command, int argc,
                                                      char** argv);

// `path` is a run directory (parameters from its model.pt) or a checkpoint file in one
// (RUN/checkpoints/*.ckpt, e.g. best.ckpt). Errors name the path and what is wrong.
OpenedRun open_run(const std::filesystem::path& path, c10::Device device);

}  // namespace polyphony::cli
