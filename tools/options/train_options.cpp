#include "tools/options/train_options.h"

#include <algorithm>
#include <ctime>
#include <initializer_list>
#include <optional>
#include <tuple>

#include <fmt/format.h>

#include "common/error.h"
#include "engine/data/data_options.h"
#include "engine/data/dataset_loader.h"
#include "engine/eval/evaluator_options.h"
#include "models/registry.h"
#include "tools/options/command_line.h"
#include "tools/options/config_file.h"
#include "tools/options/data_options.h"

namespace polyphony::cli {
namespace {

std::string default_run_directory(const std::string& model) {
  const std::time_t now = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&now));
  return fmt::format("runs/{}-{}", model, stamp);
}

// --set model.KEY=VALUE: VALUE is read as JSON when it parses (numbers, true/false), else as a
// string, so --set model.ortho_form=official works unquoted.
void apply_model_setting(const std::string& assignment, nlohmann::json& model_options) {
  const std::string prefix = "model.";
  const auto equals = assignment.find('=');
  const std::string key = assignment.substr(0, equals);
  if (equals == std::string::npos || key.rfind(prefix, 0) != 0 || key.size() <= prefix.size())
    fail("--set '{}': expected model.KEY=VALUE", assignment);
  const std::string text = assignment.substr(equals + 1);
  auto value = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  model_options[key.substr(prefix.size())] = value.is_discarded() ? nlohmann::json(text) : value;
}

// When arguments[i] is `flag` VALUE or `flag`=VALUE: VALUE, with i moved onto the last argument
// read. A flag without its value is an error.
std::optional<std::string> option_value_at(const std::vector<std::string>& arguments, size_t& i,
                                           const std::string& flag) {
  if (arguments[i] == flag) {
    if (i + 1 >= arguments.size()) fail("{} needs a value", flag);
    return arguments[++i];
  }
  if (arguments[i].rfind(flag + "=", 0) == 0) return arguments[i].substr(flag.size() + 1);
  return std::nullopt;
}

std::string models_help() {
  std::string help = "model to train:";
  for (const auto& m : available_models()) help += fmt::format(" {} ({});", m.name, m.summary);
  return help;
}

}  // namespace

namespace {

// The options the command itself owns: which model, where and how the run goes, what is shown.
const std::vector<Option<TrainSetup>>& run_option_list() {
  using O = OptionsOf<TrainSetup>;
  const auto protocol = [](const std::string& text) -> std::optional<std::string> {
    sampled_negatives(text);  // refuses a bad one, naming it
    return std::nullopt;
  };
  static const std::string model_help = models_help();
  static const std::vector<Option<TrainSetup>> options = {
      O::field("model", &TrainSetup::model, model_help),
      O::field("device", &TrainSetup::device, "auto (CUDA when present), cpu or cuda"),
      O::field("seed", &TrainSetup::seed, "seed of initialisation, sampling and the split"),
      O::field("deterministic", &TrainSetup::deterministic,
               "use deterministic algorithms on the GPU as well (slower)"),
      O::field("top_k", &TrainSetup::top_k, "cut-off shown in the printed table",
               at_least<int64_t>(1)),
      O::field("eval_protocol", &TrainSetup::eval_protocol,
               "full (rank every item) or sampled:N (N uniform negatives per test item)", protocol),
      O::field("user_metrics", &TrainSetup::user_metrics,
               "write each test user's NDCG@K and Recall@K to RUN/metrics.users.tsv (full "
               "ranking; for paired significance tests, which `polyphony report` runs)"),
      O::field("threads", &TrainSetup::threads, "CPU threads (0: all cores)", non_negative<int>()),
      O::field("out", &TrainSetup::out, "run directory (default runs/MODEL-TIMESTAMP)"),
      O::field("tensorboard", &TrainSetup::tensorboard,
               "write TensorBoard event files to RUN/tensorboard/: every metrics.jsonl value, the "
               "test metrics and the config as hyper-parameters (tensorboard --logdir RUN)"),
      O::field("tensorboard_steps", &TrainSetup::tensorboard_steps,
               "with --tensorboard, also the running mean loss terms every N steps (0: per epoch "
               "only)",
               non_negative<int64_t>()),
      O::field("tensorboard_group", &TrainSetup::tensorboard_group,
               "hparams group of the run in TensorBoard: runs of one group are repeats of one "
               "setting (sweeps give each point its group)"),
      O::field("progress_interval", &TrainSetup::progress_interval,
               "seconds between progress lines when not on a terminal", positive<double>()),
      O::field("quiet", &TrainSetup::quiet, "no per-epoch lines"),
      O::field("json", &TrainSetup::json,
               "print the result (run, summary, test metrics) as JSON on the standard output; the "
               "lines for people go to the standard error"),
      O::field("no_cache", &TrainSetup::no_cache,
               "parse the files, do not read or write the cache"),
  };
  return options;
}

// `options` as rows of `section`.
void add_rows(std::vector<TrainOption>& rows, const std::string& section,
              const std::vector<Option<TrainSetup>>& options) {
  for (const auto& o : options)
    rows.push_back({dashed_name(o.name), section, o.type, o.default_text, o.help, o.set});
}

// The run's own options by name, as rows of `section`.
void add_run_rows(std::vector<TrainOption>& rows, const std::string& section,
                  std::initializer_list<const char*> names) {
  for (const char* name : names) add_rows(rows, section, {*find_option(run_option_list(), name)});
}

// The model shortcuts (--dim, --k-filter, ...) and --set, which land in the model's settings.
void add_model_rows(std::vector<TrainOption>& rows) {
  for (const auto& shortcut : model_shortcuts()) {
    TrainOption row{dashed_name(shortcut.flag), "model", OptionType::kValue, std::nullopt,
                    shortcut.help};
    row.set = [settings = shortcut.settings](TrainSetup& s, const std::string& text) {
      s.model_options.update(settings(text));
    };
    rows.push_back(std::move(row));
  }
  TrainOption set{"set", "", OptionType::kRepeated, std::nullopt,
                  "SECTION.KEY=VALUE (repeatable): any option of a config file, e.g. "
                  "train.epochs=50, or a model option, e.g. model.user_prototypes=71"};
  set.set = [](TrainSetup& s, const std::string& assignment) {  // after the shortcuts: it wins
    apply_model_setting(assignment, s.model_options);
  };
  rows.push_back(std::move(set));
}

std::vector<TrainOption> make_train_option_table() {
  std::vector<TrainOption> rows;
  add_run_rows(rows, "model", {"model"});
  add_run_rows(rows, "run", {"device"});
  add_run_rows(rows, "train", {"seed"});
  add_rows(rows, "train", mount<TrainSetup>(trainer_option_list(), &TrainSetup::trainer));
  add_rows(rows, "train", mount<TrainSetup>(sampler_option_list(), &TrainSetup::sampler));
  add_run_rows(rows, "train", {"deterministic"});
  add_model_rows(rows);
  add_run_rows(rows, "eval", {"top_k", "eval_protocol"});
  add_rows(rows, "eval", mount<TrainSetup>(evaluator_option_list(), &TrainSetup::eval));
  add_run_rows(rows, "eval", {"user_metrics"});
  add_run_rows(rows, "run", {"threads", "out"});
  rows.push_back({"config", "", OptionType::kValue, std::nullopt,
                  "TOML run configuration (configs/*.toml); the command line overrides it"});
  rows.push_back({"resume", "", OptionType::kValue, std::nullopt,
                  "continue the run in RUN_DIR from its newest valid checkpoint (options given "
                  "besides override the run's own: --epochs, --patience, --lr, --device)"});
  add_run_rows(rows, "run", {"tensorboard", "tensorboard_steps", "tensorboard_group"});
  add_rows(rows, "run", mount<TrainSetup>(mlflow_option_list(), &TrainSetup::mlflow));
  add_run_rows(rows, "run", {"progress_interval", "quiet", "json"});
  add_rows(rows, "data", mount<TrainSetup>(data_option_list(), &TrainSetup::data));
  add_run_rows(rows, "data", {"no_cache"});
  for (auto& row : rows)
    if (row.name == "top-k") row.letter = "k";
  return rows;
}

}  // namespace

const std::vector<TrainOption>& train_option_table() {
  static const std::vector<TrainOption> table = make_train_option_table();
  return table;
}

std::string dashed_name(std::string name) {
  std::replace(name.begin(), name.end(), '_', '-');
  return name;
}

const TrainOption* find_train_option(const std::string& name) {
  for (const auto& row : train_option_table())
    if (name == row.name) return &row;
  return nullptr;
}

void check_option_value(const TrainOption& row, const std::string& value) {
  if (!row.set) return;
  TrainSetup scratch;
  scratch.model_options = nlohmann::json::object();
  row.set(scratch, value);
}

namespace {

using RowFilter = std::function<bool(const TrainOption&)>;

void add_rows_to(cxxopts::Options& spec, const RowFilter& wanted) {
  for (const auto& row : train_option_table()) {
    if (!wanted(row)) continue;
    const std::string flags = row.letter ? fmt::format("{},{}", row.letter, row.name) : row.name;
    std::shared_ptr<cxxopts::Value> value;
    switch (row.type) {
      case OptionType::kValue:
        // Read as text: the option's own reader checks it and names it when it is bad.
        value = cxxopts::value<std::string>();
        if (row.default_value) value->default_value(*row.default_value);
        break;
      case OptionType::kFlag:
        value = cxxopts::value<bool>()->default_value("false")->implicit_value("true");
        break;
      case OptionType::kRepeated:
        value = cxxopts::value<std::vector<std::string>>();
        break;
    }
    spec.add_options(row.section == "data" ? "data" : "")(flags, row.help, value);
  }
}

void land_rows(TrainSetup& setup, const cxxopts::ParseResult& args, const RowFilter& wanted) {
  for (const auto& row : train_option_table()) {
    if (!row.set || !wanted(row)) continue;
    const auto& value = args[row.name];
    if (!value.count() && !value.has_default()) continue;
    switch (row.type) {
      case OptionType::kValue:
        row.set(setup, value.as<std::string>());
        break;
      case OptionType::kFlag:
        row.set(setup, value.as<bool>() ? "true" : "false");
        break;
      case OptionType::kRepeated:
        for (const auto& text : value.as<std::vector<std::string>>()) row.set(setup, text);
        break;
    }
  }
}

RowFilter data_rows(bool data_only) {
  return [data_only](const TrainOption& row) { return !data_only || row.section == "data"; };
}

RowFilter rows_named(const std::vector<std::string>& names) {
  return [names](const TrainOption& row) {
    return std::find(names.begin(), names.end(), row.name) != names.end();
  };
}

}  // namespace

void add_option_rows(cxxopts::Options& spec, bool data_only) {
  add_rows_to(spec, data_rows(data_only));
}

void add_named_rows(cxxopts::Options& spec, const std::vector<std::string>& names) {
  add_rows_to(spec, rows_named(names));
}

void land_named_rows(TrainSetup& setup, const cxxopts::ParseResult& args,
                     const std::vector<std::string>& names) {
  land_rows(setup, args, rows_named(names));
}

void land_option_rows(TrainSetup& setup, const cxxopts::ParseResult& args, bool data_only) {
  land_rows(setup, args, data_rows(data_only));
  if (setup.no_cache) {
    setup.data.load.cache_dir.clear();
  } else if (setup.data.load.cache_dir.empty()) {
    setup.data.load.cache_dir = default_cache_dir();
  }
}

void add_train_options(cxxopts::Options& spec) { add_option_rows(spec, /*data_only=*/false); }

TrainSetup read_train_setup(const cxxopts::ParseResult& args) {
  TrainSetup s;
  s.model_options = nlohmann::json::object();
  land_option_rows(s, args, /*data_only=*/false);
  s.data.split.seed = s.seed;
  check_trainer_options(s.trainer);
  check_model_options(s.model, s.model_options);  // before any data is read
  s.mlflow.tracking_uri = mlflow_tracking_uri(s.mlflow.tracking_uri, "--mlflow");
  if (s.tensorboard_steps > 0 && !s.tensorboard)
    fail("--tensorboard-steps {} needs --tensorboard", s.tensorboard_steps);
  s.trainer.report_losses_every = s.tensorboard_steps;  // the losses TensorBoard is given
  if (s.out.empty()) s.out = default_run_directory(s.model);
  if (std::find(s.eval.ks.begin(), s.eval.ks.end(), s.top_k) == s.eval.ks.end())
    s.eval.ks.push_back(s.top_k);
  return s;
}

cxxopts::ParseResult parse_arguments(cxxopts::Options& spec, const std::string& name,
                                     const std::vector<std::string>& arguments) {
  std::vector<char*> argv{const_cast<char*>(name.c_str())};
  for (const auto& a : arguments) argv.push_back(const_cast<char*>(a.c_str()));
  auto args = parse_command_line(spec, static_cast<int>(argv.size()), argv.data());
  if (!args.unmatched().empty()) fail("unexpected argument '{}'", args.unmatched().front());
  return args;
}

std::vector<std::string> take_option_values(std::vector<std::string>& arguments,
                                            const std::string& option) {
  std::vector<std::string> values, rest;
  for (size_t i = 0; i < arguments.size(); ++i) {
    if (auto value = option_value_at(arguments, i, "--" + option))
      values.push_back(std::move(*value));
    else
      rest.push_back(arguments[i]);
  }
  arguments = std::move(rest);
  return values;
}

ConfigurationExpander::ConfigurationExpander() : spec_("polyphony train", "") {
  add_train_options(spec_);
}

std::vector<std::string> ConfigurationExpander::expand(const std::vector<std::string>& arguments) {
  std::vector<std::string> from_files, rest, removals;
  for (size_t i = 0; i < arguments.size(); ++i) {
    if (const auto file = option_value_at(arguments, i, "--config")) {
      auto [at, added] = files_.try_emplace(*file);
      if (added) at->second = config_file_arguments(*file);
      from_files.insert(from_files.end(), at->second.begin(), at->second.end());
    } else if (const auto setting = option_value_at(arguments, i, "--set")) {
      if (is_removal(*setting)) {  // what the files and the settings before it gave
        remove_setting(*setting, rest);
        removals.push_back(*setting);
        continue;
      }
      auto [at, added] = settings_.try_emplace(*setting);
      if (added) at->second = setting_arguments(*setting);
      rest.insert(rest.end(), at->second.begin(), at->second.end());
    } else {
      rest.push_back(arguments[i]);
    }
  }
  // The files' settings come first whatever the order given, so a removal applies to all of them.
  for (const auto& removal : removals) remove_setting(removal, from_files);
  from_files.insert(from_files.end(), rest.begin(), rest.end());
  return from_files;
}

TrainSetup ConfigurationExpander::read_setup(const std::vector<std::string>& arguments) {
  return read_train_setup(parse_arguments(spec_, "polyphony train", arguments));
}

std::vector<std::string> expand_configuration(const std::vector<std::string>& arguments) {
  return ConfigurationExpander().expand(arguments);
}

}  // namespace polyphony::cli
