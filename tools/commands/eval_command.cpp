// polyphony eval RUN_DIR|CHECKPOINT: the full-ranking (or sampled) evaluation of a trained model
// on its own data, as a table or JSON.

#include <torch/torch.h>

#include <optional>

#include <fmt/format.h>
#include <cxxopts.hpp>

#include "common/error.h"
#include "engine/data/data_options.h"
#include "engine/eval/evaluator_options.h"
#include "engine/eval/protocol_evaluator.h"
#include "engine/io/atomic_file.h"
#include "tools/commands/commands.h"
#include "tools/options/device.h"
#include "tools/report/report.h"
#include "tools/run/run_loader.h"

namespace polyphony::cli {
namespace {

// The run's item groups, or those --item-groups and --item-attributes ask for: a finished run
// evaluated under other groups without training again.
ItemGroups item_groups(const cxxopts::ParseResult& args, const OpenedRun& run) {
  if (!args.count("item-groups") && !args.count("item-attributes"))
    return run.data.dataset.item_groups;
  const ItemGroupOptions groups = args.count("item-groups")
                                      ? parse_item_groups(args["item-groups"].as<std::string>())
                                      : run.setup.data.item_groups;
  const std::filesystem::path attributes =
      args.count("item-attributes")
          ? std::filesystem::path(args["item-attributes"].as<std::string>())
          : run.data.item_attributes;
  return make_item_groups(groups, run.data.dataset, run.data.split.train, attributes);
}

}  // namespace

int eval(int argc, char** argv) {
  cxxopts::Options spec("polyphony eval",
                        "Evaluate a trained model (a run directory, or a checkpoint in one) on "
                        "its own data.");
  spec.add_options()("split", "test or valid",
                     cxxopts::value<std::string>()->default_value("test"))(
      "eval-protocol", "full or sampled:N (default: the run's)", cxxopts::value<std::string>())(
      "k,top-k", "cut-off of the printed table (default: the run's)", cxxopts::value<int64_t>())(
      "eval-memory-mb", "memory budget for one evaluation chunk (default: the run's)",
      cxxopts::value<int64_t>())("device", "auto, cpu or cuda",
                                 cxxopts::value<std::string>()->default_value("auto"))(
      "item-groups",
      "evaluate under other item groups, as polyphony train takes them, e.g. "
      "attribute:country=US,GB,FR/IE,JP,KR,HK,CN (default: the run's)",
      cxxopts::value<std::string>())(
      "item-attributes", "CSV/TSV of item attributes for --item-groups (default: the run's)",
      cxxopts::value<std::string>())("json", "print the result as JSON")(
      "write",
      "also write the result to this file as JSON, in the form of a run's metrics.json "
      "(atomically)",
      cxxopts::value<std::string>());
  add_run_argument(spec);
  const auto parsed = parse_run_command(spec, "eval", argc, argv);
  if (!parsed) return 0;  // --help
  const auto& args = *parsed;
  const std::string split = args["split"].as<std::string>();
  if (split != "test" && split != "valid") fail("--split '{}': expected test or valid", split);
  const auto device = resolve_device(args["device"].as<std::string>());

  OpenedRun run = open_run(args["run"].as<std::string>(), device);
  const auto& data = run.data;
  EvaluatorOptions options = run.setup.eval;
  int64_t k = run.setup.top_k;
  if (args.count("top-k")) {
    k = args["top-k"].as<int64_t>();
    if (k < 1) fail("--top-k must be at least 1 (got {})", k);
    if (std::find(options.ks.begin(), options.ks.end(), k) == options.ks.end())
      options.ks.push_back(k);
    std::sort(options.ks.begin(), options.ks.end());
  }
  if (args.count("eval-memory-mb")) options.eval_memory_mb = args["eval-memory-mb"].as<int64_t>();
  const std::string protocol = args.count("eval-protocol") ? args["eval-protocol"].as<std::string>()
                                                           : run.setup.eval_protocol;
  // Testing masks training and validation items; validating masks training items.
  const UserItemIndex& exclude = split == "test" ? data.seen : data.train;
  const UserItemIndex& target = split == "test" ? data.test : data.valid;
  if (target.nnz() == 0) fail("the run's split has no {} interactions", split);

  torch::manual_seed(run.setup.seed);  // sampled negatives: the same every time for one run
  const EvaluationResult result =
      ProtocolEvaluator(sampled_negatives(protocol), data.train, item_groups(args, run), options,
                        device, data.user_groups)
          .evaluate(*run.model, exclude, target, split);
  auto json = result.to_json();
  json["run"] = run.directory.string();
  json["parameters"] = run.parameters_from;
  if (args.count("write"))
    write_file_atomically(args["write"].as<std::string>(), json.dump(2) + "\n");
  if (args.count("json")) {
    fmt::print("{}\n", json.dump(2));
  } else {
    fmt::print("run {}, parameters from {}\n\n{}", run.directory.string(), run.parameters_from,
               format_report(result, k));
  }
  return 0;
}

}  // namespace polyphony::cli
