#include "tools/run/run_loader.h"

#include <fstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/error.h"
#include "engine/run/run_directory.h"
#include "engine/train/checkpoint.h"
#include "engine/train/checkpoint_contents.h"
#include "engine/train/module_state.h"
#include "engine/train/trainer.h"
#include "models/registry.h"
#include "tools/options/command_line.h"
#include "tools/run/resume.h"
#include "tools/run/run_config.h"

namespace polyphony::cli {
namespace fs = std::filesystem;

void add_run_argument(cxxopts::Options& spec) {
  spec.add_options()("run", "run directory or checkpoint file", cxxopts::value<std::string>())(
      "h,help", "show this help");
  spec.parse_positional({"run"});
  spec.positional_help("RUN_DIR|CHECKPOINT");
}

std::optional<cxxopts::ParseResult> parse_run_command(cxxopts::Options& spec,
                                                      const std::string& command, int argc,
                                                      char** argv) {
  auto args = parse_command_line(spec, argc, argv);
  if (args.count("help")) {
    fmt::print("{}\n", spec.help());
    return std::nullopt;
  }
  if (!args.unmatched().empty())
    fail("unexpected argument '{}' (polyphony {} takes one run directory or checkpoint)",
         args.unmatched().front(), command);
  if (!args.count("run"))
    fail("expected a run directory or checkpoint (see polyphony {} --help)", command);
  return args;
}

namespace {

// A run's id map (users.txt or items.txt): one id per line in dense-index order, as the data
// rebuilt from command.json has them.
void check_id_file(const fs::path& file, const std::vector<std::string>& ids) {
  std::ifstream in(file);
  if (!in) fail("{}: missing (the run directory is incomplete)", file.string());
  std::string line;
  size_t count = 0;
  while (std::getline(in, line)) {
    if (count < ids.size() && line != ids[count])
      fail(
          "{}:{}: '{}', where the run's data has '{}' (the id maps are written from the data "
          "command.json names and are not read back; was the file edited?)",
          file.string(), count + 1, line, ids[count]);
    ++count;
  }
  if (count != ids.size())
    fail("{}: {} ids, where the run's data has {} (was the file edited or cut short?)",
         file.string(), count, ids.size());
}

}  // namespace

OpenedRun open_run(const fs::path& path, c10::Device device) {
  std::error_code ec;
  if (!fs::exists(path, ec)) fail("{} does not exist", path.string());
  const bool checkpoint = fs::is_regular_file(path, ec);
  OpenedRun run;
  run.directory = checkpoint ? path.parent_path().parent_path() : path;
  if (checkpoint && path.parent_path().filename() != run_file::kCheckpoints)
    fail("{}: expected a run directory or a checkpoint in RUN/checkpoints/", path.string());

  cxxopts::Options spec("polyphony train", "");
  add_train_options(spec);
  const auto arguments = resumed_arguments(run.directory, {});
  cxxopts::ParseResult args;
  try {
    args = parse_arguments(spec, "polyphony train", arguments);
    run.setup = read_train_setup(args);
  } catch (const cxxopts::exceptions::exception& e) {
    // The saved arguments are at fault, not the command line just typed.
    fail("{}: the run's saved arguments do not parse: {}",
         (run.directory / run_file::kCommand).string(), e.what());
  } catch (const Error& e) {
    fail("{}: the run's saved arguments are refused: {}",
         (run.directory / run_file::kCommand).string(), e.what());
  }
  run.data = prepare_data(run.setup.data);

  // The data must be what the run was trained and evaluated on.
  std::ifstream config_file(run.directory / run_file::kConfigJson);
  const auto recorded = nlohmann::json::parse(config_file, nullptr, /*allow_exceptions=*/false);
  const auto saved =
      recorded.is_object()
          ? recorded.value(nlohmann::json::json_pointer("/data/split/fingerprint"), std::string())
          : std::string();
  const std::string now = fmt::format("{:016x}", run.data.split.fingerprint);
  if (saved.empty()) fail("{}: config.resolved.json is missing or damaged", run.directory.string());
  if (saved != now)
    fail("the data of run {} changed since it was trained (split fingerprint {}, now {})",
         run.directory.string(), saved, now);

  const auto& d = run.data.dataset;
  ModelContext context{d.num_users, d.num_items, run.data.split.train.users,
                       run.data.split.train.items};
  run.model = make_model(run.setup.model, context, run.setup.model_options);
  // command.json and the parameters (model.pt or a checkpoint, each checked on its own) are what
  // a run is; config.resolved.json, users.txt and items.txt are derived from them and must agree.
  const auto config =
      run_config(args, run.setup, run.data, *run.model,
                 resolve_embedding_updates(run.setup.trainer.optimizer.embedding_updates,
                                           run.model->embedding_tables()));
  check_recorded_config(run.directory, config);
  check_id_file(run.directory / run_file::kUsers, d.user_ids);
  check_id_file(run.directory / run_file::kItems, d.item_ids);
  run.model->to(device);
  if (checkpoint) {
    auto archive = read_checkpoint_file(path, device);
    const auto saved = checkpoint_metadata(archive).value("config", nlohmann::json());
    auto ignored = resumable_keys();
    ignored.insert(ignored.end(), not_what_a_model_scores().begin(),
                   not_what_a_model_scores().end());
    if (const auto differences = config_differences(saved, known_to(config, saved), ignored);
        !differences.empty())
      fail("checkpoint {} was written by another configuration than the run's ({})", path.string(),
           fmt::join(differences, ", "));
    torch::serialize::InputArchive model;
    if (!archive.try_read("model", model))
      fail("checkpoint {} holds no model: it was not written by polyphony train", path.string());
    load_module_state(*run.model, model, "checkpoint " + path.string());
    run.parameters_from = path.string();
  } else {
    const fs::path file = run.directory / run_file::kModel;
    if (!fs::exists(file, ec))
      fail("run {} has no model.pt (it has not finished): use one of its checkpoints, e.g. {}",
           run.directory.string(), (run.directory / run_file::kCheckpoints / "best.ckpt").string());
    load_model(file, *run.model);
    run.parameters_from = file.string();
  }
  run.model->eval();
  return run;
}

}  // namespace polyphony::cli
