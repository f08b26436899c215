#include "tools/train_options.h"

#include <algorithm>
#include <ctime>
#include <optional>

#include <fmt/format.h>

#include "common/error.h"
#include "engine/data/line_reader.h"
#include "models/registry.h"
#include "tools/config_file.h"
#include "tools/data_options.h"

namespace polyphony::cli {
namespace {

std::string default_run_directory(const std::string& model) {
  const std::time_t now = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&now));
  return fmt::format("runs/{}-{}", model, stamp);
}

int64_t parse_integer(const std::string& option, const std::string& text) {
  try {
    size_t used = 0;
    const int64_t value = std::stoll(text, &used);
    if (used == text.size()) return value;
  } catch (const std::exception&) {
  }
  fail("{}: '{}' is not an integer", option, text);
}

// --set model.KEY=VALUE: VALUE is read as JSON when it parses (numbers, true/false), else as a
// string, so --set model.ortho_form=official works unquoted.
void apply_model_setting(const std::string& assignment, nlohmann::json& model_options) {
  const auto equals = assignment.find('=');
  const std::string key = assignment.substr(0, equals);
  if (equals == std::string::npos || key.rfind("model.", 0) != 0 || key.size() <= 6)
    fail("--set '{}': expected model.KEY=VALUE", assignment);
  const std::string text = assignment.substr(equals + 1);
  auto value = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  model_options[key.substr(6)] = value.is_discarded() ? nlohmann::json(text) : value;
}

NonFinitePolicy parse_nonfinite_policy(const std::string& text) {
  if (text == "stop") return NonFinitePolicy::kStop;
  if (text == "rollback") return NonFinitePolicy::kRollback;
  fail("--on-nonfinite '{}': expected stop or rollback", text);
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

}  // namespace

void add_train_options(cxxopts::Options& spec) {
  std::string models_help = "model to train:";
  for (const auto& m : available_models())
    models_help += fmt::format(" {} ({});", m.name, m.summary);
  spec.add_options()("model", models_help, cxxopts::value<std::string>()->default_value("mf"))(
      "device", "auto (CUDA when present), cpu or cuda",
      cxxopts::value<std::string>()->default_value("auto"))(
      "seed", "seed of initialisation, sampling and the split",
      cxxopts::value<uint64_t>()->default_value("42"))(
      "epochs", "passes over the training data", cxxopts::value<int64_t>()->default_value("30"))(
      "batch-size", "positives per step", cxxopts::value<int64_t>()->default_value("4096"))(
      "negatives", "negatives per positive", cxxopts::value<int64_t>()->default_value("1"))(
      "sampler", "negatives: uniform or popularity:ALPHA (over the user's non-training items)",
      cxxopts::value<std::string>()->default_value("uniform"))(
      "loss", "bpr, softmax or bce", cxxopts::value<std::string>()->default_value("bpr"))(
      "optimizer", "adam, adamw, adagrad or sgd",
      cxxopts::value<std::string>()->default_value("adam"))(
      "lr", "learning rate", cxxopts::value<double>()->default_value("0.005"))(
      "weight-decay", "weight decay (decoupled for adamw)",
      cxxopts::value<double>()->default_value("0"))("momentum", "SGD momentum",
                                                    cxxopts::value<double>()->default_value("0.9"))(
      "lr-schedule", "constant, cosine or step:EPOCHS:GAMMA",
      cxxopts::value<std::string>()->default_value("constant"))(
      "warmup-steps", "linear learning-rate warm-up over the first steps",
      cxxopts::value<int64_t>()->default_value("0"))(
      "clip-grad-norm", "clip the global gradient norm to this (0: off)",
      cxxopts::value<double>()->default_value("0"))(
      "dim", "embedding size (models with embeddings; default 64)", cxxopts::value<int64_t>())(
      "k-filter", "prototype top-k filter KU[,KT] for ProtoMF (-1: off)",
      cxxopts::value<std::string>())("ortho",
                                     "weight of the prototype-distributing regulariser (ProtoMF)",
                                     cxxopts::value<double>())(
      "resn",
      "weight β of the ReSN spectral-norm regulariser (MF, ProtoMF, ACF, LightGCN, multi-interest)",
      cxxopts::value<double>())(
      "set",
      "SECTION.KEY=VALUE (repeatable): any option of a config file, e.g. train.epochs=50, or a "
      "model option, e.g. model.user_prototypes=71",
      cxxopts::value<std::vector<std::string>>())("eval-every",
                                                  "validate every N epochs (0: never)",
                                                  cxxopts::value<int64_t>()->default_value("5"))(
      "monitor", "validation metric that picks the best epoch",
      cxxopts::value<std::string>()->default_value("NDCG@10"))(
      "patience", "stop after N validations without improvement (0: off)",
      cxxopts::value<int64_t>()->default_value("0"))(
      "k,top-k", "cut-off shown in the printed table",
      cxxopts::value<int64_t>()->default_value("10"))(
      "eval-protocol", "full (rank every item) or sampled:N (N uniform negatives per test item)",
      cxxopts::value<std::string>()->default_value("full"))(
      "eval-memory-mb", "memory budget for one evaluation chunk",
      cxxopts::value<int64_t>()->default_value("512"))("threads", "CPU threads (0: all cores)",
                                                       cxxopts::value<int>()->default_value("0"))(
      "out", "run directory (default runs/MODEL-TIMESTAMP)", cxxopts::value<std::string>())(
      "config", "TOML run configuration (configs/*.toml); the command line overrides it",
      cxxopts::value<std::string>())(
      "resume",
      "continue the run in RUN_DIR from its newest valid checkpoint (options given besides "
      "override the run's own: --epochs, --patience, --lr, --device)",
      cxxopts::value<std::string>())(
      "checkpoint-every-epochs", "checkpoint every N epochs (0: only at the end and on signals)",
      cxxopts::value<int64_t>()->default_value("1"))(
      "checkpoint-every-steps", "also checkpoint every N optimiser steps (0: off)",
      cxxopts::value<int64_t>()->default_value("0"))(
      "keep-checkpoints", "step checkpoints kept (best.ckpt is kept besides)",
      cxxopts::value<int64_t>()->default_value("3"))(
      "on-nonfinite",
      "on a non-finite loss: stop, or rollback (reload the last checkpoint, halve the learning "
      "rate, up to 3 times)",
      cxxopts::value<std::string>()->default_value("stop"))(
      "deterministic", "use deterministic algorithms on the GPU as well (slower)")(
      "progress-interval", "seconds between progress lines when not on a terminal",
      cxxopts::value<double>()->default_value("30"))("quiet", "no per-epoch lines")(
      "json",
      "print the result (run, summary, test metrics) as JSON on the standard output; the lines "
      "for people go to the standard error");
  add_data_options(spec);
}

TrainSetup read_train_setup(const cxxopts::ParseResult& args) {
  TrainSetup s;
  s.device = args["device"].as<std::string>();
  s.threads = args["threads"].as<int>();
  s.seed = args["seed"].as<uint64_t>();
  s.model = args["model"].as<std::string>();
  s.trainer.epochs = args["epochs"].as<int64_t>();
  s.trainer.batch_size = args["batch-size"].as<int64_t>();
  s.trainer.negatives = args["negatives"].as<int64_t>();
  s.trainer.loss = args["loss"].as<std::string>();
  s.trainer.optimizer.name = args["optimizer"].as<std::string>();
  s.trainer.optimizer.lr = args["lr"].as<double>();
  s.trainer.optimizer.weight_decay = args["weight-decay"].as<double>();
  s.trainer.optimizer.momentum = args["momentum"].as<double>();
  s.trainer.schedule =
      parse_schedule(args["lr-schedule"].as<std::string>(), args["warmup-steps"].as<int64_t>());
  s.trainer.clip_norm = args["clip-grad-norm"].as<double>();
  s.trainer.checkpoints.every_epochs = args["checkpoint-every-epochs"].as<int64_t>();
  s.trainer.checkpoints.every_steps = args["checkpoint-every-steps"].as<int64_t>();
  s.trainer.checkpoints.keep_last = args["keep-checkpoints"].as<int64_t>();
  s.trainer.on_nonfinite = parse_nonfinite_policy(args["on-nonfinite"].as<std::string>());
  s.trainer.eval_every = args["eval-every"].as<int64_t>();
  s.trainer.monitor = args["monitor"].as<std::string>();
  s.trainer.patience = args["patience"].as<int64_t>();
  check_trainer_options(s.trainer);
  s.table_k = args["top-k"].as<int64_t>();
  if (s.table_k < 1) fail("--top-k must be at least 1 (got {})", s.table_k);
  nlohmann::json& model_options = s.model_options;
  model_options = nlohmann::json::object();
  if (args.count("dim")) model_options["dim"] = args["dim"].as<int64_t>();
  if (args.count("k-filter")) {
    const auto ks = args["k-filter"].as<std::string>();
    const auto comma = ks.find(',');
    model_options["k_user"] = parse_integer("--k-filter", ks.substr(0, comma));
    model_options["k_item"] =
        parse_integer("--k-filter", comma == std::string::npos ? ks : ks.substr(comma + 1));
  }
  if (args.count("ortho")) model_options["ortho_weight"] = args["ortho"].as<double>();
  if (args.count("resn")) model_options["resn_weight"] = args["resn"].as<double>();
  if (args.count("set"))
    for (const auto& assignment : args["set"].as<std::vector<std::string>>())
      apply_model_setting(assignment, model_options);
  check_model_options(s.model, model_options);  // before any data is read
  s.quiet = args.count("quiet") > 0;
  s.json = args.count("json") > 0;
  s.out = args.count("out") ? args["out"].as<std::string>() : default_run_directory(s.model);
  s.progress_interval = args["progress-interval"].as<double>();
  if (!(s.progress_interval > 0))
    fail("--progress-interval must be positive (got {})", s.progress_interval);
  s.deterministic = args.count("deterministic") > 0;
  s.on_nonfinite = args["on-nonfinite"].as<std::string>();
  s.data = read_data_options(args, s.seed);
  s.sampler = parse_sampler(args["sampler"].as<std::string>());
  s.eval.memory_budget_mb = args["eval-memory-mb"].as<int64_t>();
  if (std::find(s.eval.ks.begin(), s.eval.ks.end(), s.table_k) == s.eval.ks.end())
    s.eval.ks.push_back(s.table_k);
  s.protocol = args["eval-protocol"].as<std::string>();
  sampled_negatives(s.protocol);  // checks it
  return s;
}

cxxopts::ParseResult parse_arguments(cxxopts::Options& spec, const std::string& name,
                                     const std::vector<std::string>& arguments) {
  std::vector<char*> argv{const_cast<char*>(name.c_str())};
  for (const auto& a : arguments) argv.push_back(const_cast<char*>(a.c_str()));
  auto args = spec.parse(static_cast<int>(argv.size()), argv.data());
  if (!args.unmatched().empty()) fail("unexpected argument '{}'", args.unmatched().front());
  return args;
}

std::optional<int64_t> sampled_negatives(const std::string& protocol) {
  if (protocol == "full") return std::nullopt;
  int64_t n = 0;
  if (protocol.rfind("sampled:", 0) != 0 || !parse_int64(protocol.substr(8), n) || n < 1)
    fail("--eval-protocol '{}': expected full or sampled:N with N ≥ 1, e.g. sampled:99", protocol);
  return n;
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

std::vector<std::string> expand_configuration(const std::vector<std::string>& arguments) {
  cxxopts::Options spec("polyphony train", "");
  add_train_options(spec);
  std::vector<std::string> from_files, rest;
  for (size_t i = 0; i < arguments.size(); ++i) {
    if (const auto file = option_value_at(arguments, i, "--config")) {
      const auto more = config_file_arguments(*file, spec);
      from_files.insert(from_files.end(), more.begin(), more.end());
    } else if (const auto setting = option_value_at(arguments, i, "--set")) {
      const auto more = setting_arguments(*setting, spec);
      rest.insert(rest.end(), more.begin(), more.end());
    } else {
      rest.push_back(arguments[i]);
    }
  }
  from_files.insert(from_files.end(), rest.begin(), rest.end());
  return from_files;
}

}  // namespace polyphony::cli
