// polyphony export RUN_DIR|CHECKPOINT --out model.pt: a TorchScript archive for serving.

#include <torch/torch.h>

#include <filesystem>

#include <fmt/format.h>
#include <cxxopts.hpp>

#include "common/error.h"
#include "engine/data/user_item_index.h"
#include "engine/run/torchscript_export.h"
#include "tools/commands/commands.h"
#include "tools/run/run_loader.h"

namespace polyphony::cli {

int export_model(int argc, char** argv) {
  cxxopts::Options spec("polyphony export",
                        "Write a trained model as a TorchScript archive with score(users, items), "
                        "recommend(users, k), recommend_ids(user_ids, k) and the id maps.");
  spec.add_options()("out", "archive to write, e.g. model.ts.pt", cxxopts::value<std::string>())(
      "force", "replace the archive if it exists");
  add_run_argument(spec);
  const auto parsed = parse_run_command(spec, "export", argc, argv);
  if (!parsed) return 0;  // --help
  const auto& args = *parsed;
  if (!args.count("out")) fail("--out: where to write the archive is required");
  const std::string out = args["out"].as<std::string>();
  std::error_code ec;
  if (std::filesystem::exists(out, ec) && !args.count("force"))
    fail("--out {}: already exists; add --force to replace it", out);
  // Factors are computed once on the CPU; the archive moves to any device when loaded.
  OpenedRun run = open_run(args["run"].as<std::string>(), c10::kCPU);
  const Dataset& d = run.data.dataset;
  const UserItemIndex known(d.interactions, d.num_users, d.num_items);
  export_torchscript(*run.model, d.user_ids, d.item_ids, known, out);
  fmt::print("wrote {}: model {} ({} users, {} items), parameters from {}\n", out,
             run.model->kind(), d.num_users, d.num_items, run.parameters_from);
  fmt::print("load it with torch.jit.load(\"{}\") in Python or torch::jit::load in C++\n", out);
  return 0;
}

}  // namespace polyphony::cli
