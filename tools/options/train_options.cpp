#include "tools/options/train_options.h"

#include <algorithm>
#include <ctime>
#include <optional>
#include <tuple>

#include <fmt/format.h>

#include "common/error.h"
#include "engine/data/dataset_loader.h"
#include "engine/data/line_reader.h"
#include "models/registry.h"
#include "tools/options/config_file.h"
#include "tools/options/data_options.h"
#include "tools/options/option_spec.h"

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

using Value = cxxopts::OptionValue;
std::string text(const Value& v) { return v.as<std::string>(); }
int64_t integer(const Value& v) { return v.as<int64_t>(); }
double real(const Value& v) { return v.as<double>(); }

int64_t non_negative(const char* option, const Value& v) {
  const int64_t value = integer(v);
  if (value < 0) fail("--{} must be non-negative (got {})", option, value);
  return value;
}

std::string models_help() {
  std::string help = "model to train:";
  for (const auto& m : available_models()) help += fmt::format(" {} ({});", m.name, m.summary);
  return help;
}

}  // namespace

const std::vector<TrainOption>& train_option_table() {
  using T = OptionType;
  static const std::string model_help = models_help();
  static const std::string updates_help = fmt::format(
      "dense (every embedding row at every step), sparse (only the rows a batch read: lazy "
      "Adam, row-wise Adagrad; for large catalogues) or auto (sparse once the embedding tables "
      "hold {} rows in all, else dense)",
      kRowSparseFromRows);
  static const std::vector<TrainOption> table = {
      {"model", "model", T::kText, "mf", model_help.c_str(),
       [](TrainSetup& s, const Value& v) { s.model = text(v); }},
      {"device", "run", T::kText, "auto", "auto (CUDA when present), cpu or cuda",
       [](TrainSetup& s, const Value& v) { s.device = text(v); }},
      {"seed", "train", T::kUnsigned, "42", "seed of initialisation, sampling and the split",
       [](TrainSetup& s, const Value& v) { s.seed = v.as<uint64_t>(); }},
      {"epochs", "train", T::kInteger, "30", "passes over the training data",
       [](TrainSetup& s, const Value& v) { s.trainer.epochs = integer(v); }},
      {"batch-size", "train", T::kInteger, "4096", "positives per step",
       [](TrainSetup& s, const Value& v) { s.trainer.batch_size = integer(v); }},
      {"negatives", "train", T::kInteger, "1", "negatives per positive",
       [](TrainSetup& s, const Value& v) { s.trainer.negatives = integer(v); }},
      {"sampler", "train", T::kText, "uniform",
       "negatives: uniform or popularity:ALPHA (over the user's non-training items)",
       [](TrainSetup& s, const Value& v) { s.sampler = parse_sampler(text(v)); }},
      {"loss", "train", T::kText, "bpr", "bpr, softmax, bce or mse",
       [](TrainSetup& s, const Value& v) { s.trainer.loss = text(v); }},
      {"loss-reduction", "train", T::kText, "mean",
       "mean or sum of the loss over a batch (sum: as ACF's official code)",
       [](TrainSetup& s, const Value& v) {
         s.trainer.loss_reduction = parse_loss_reduction(text(v));
       }},
      {"optimizer", "train", T::kText, "adam", "adam, adamw, adagrad or sgd",
       [](TrainSetup& s, const Value& v) { s.trainer.optimizer.name = text(v); }},
      {"lr", "train", T::kReal, "0.005", "learning rate",
       [](TrainSetup& s, const Value& v) { s.trainer.optimizer.lr = real(v); }},
      {"weight-decay", "train", T::kReal, "0", "weight decay (decoupled for adamw)",
       [](TrainSetup& s, const Value& v) { s.trainer.optimizer.weight_decay = real(v); }},
      {"momentum", "train", T::kReal, "0.9", "SGD momentum",
       [](TrainSetup& s, const Value& v) { s.trainer.optimizer.momentum = real(v); }},
      {"embedding-updates", "train", T::kText, "auto", updates_help.c_str(),
       [](TrainSetup& s, const Value& v) {
         s.trainer.optimizer.embedding_updates = parse_embedding_updates(text(v));
       }},
      {"lr-schedule", "train", T::kText, "constant", "constant, cosine or step:EPOCHS:GAMMA",
       [](TrainSetup& s, const Value& v) {
         const int64_t warmup = s.trainer.schedule.warmup_steps;  // landed in either order
         s.trainer.schedule = parse_schedule(text(v));
         s.trainer.schedule.warmup_steps = warmup;
       }},
      {"warmup-steps", "train", T::kInteger, "0",
       "linear learning-rate warm-up over the first steps",
       [](TrainSetup& s, const Value& v) {
         s.trainer.schedule.warmup_steps = non_negative("warmup-steps", v);
       }},
      {"clip-grad-norm", "train", T::kReal, "0", "clip the global gradient norm to this (0: off)",
       [](TrainSetup& s, const Value& v) { s.trainer.clip_norm = real(v); }},
      {"dim", "model", T::kInteger, nullptr, "embedding size (models with embeddings; default 64)",
       [](TrainSetup& s, const Value& v) { s.model_options["dim"] = integer(v); }},
      {"k-filter", "model", T::kText, nullptr,
       "prototype top-k filter KU[,KT] for ProtoMF (-1: off)",
       [](TrainSetup& s, const Value& v) {
         const auto [users, items] = parse_k_filter(text(v));
         s.model_options["k_user"] = users;
         s.model_options["k_item"] = items;
       }},
      {"ortho", "model", T::kReal, nullptr,
       "weight of the prototype-distributing regulariser (ProtoMF)",
       [](TrainSetup& s, const Value& v) { s.model_options["ortho_weight"] = real(v); }},
      {"ortho-user", "model", T::kReal, nullptr,
       "weight of the prototype-distributing regulariser on the user prototypes alone (ProtoMF; "
       "default: --ortho)",
       [](TrainSetup& s, const Value& v) { s.model_options["ortho_user_weight"] = real(v); }},
      {"ortho-item", "model", T::kReal, nullptr,
       "weight of the prototype-distributing regulariser on the item prototypes alone (ProtoMF; "
       "default: --ortho)",
       [](TrainSetup& s, const Value& v) { s.model_options["ortho_item_weight"] = real(v); }},
      {"resn", "model", T::kReal, nullptr,
       "weight β of the ReSN spectral-norm regulariser (MF, ProtoMF, ACF, LightGCN, "
       "multi-interest)",
       [](TrainSetup& s, const Value& v) { s.model_options["resn_weight"] = real(v); }},
      {"set", "", T::kRepeatedText, nullptr,
       "SECTION.KEY=VALUE (repeatable): any option of a config file, e.g. train.epochs=50, or a "
       "model option, e.g. model.user_prototypes=71",
       [](TrainSetup& s, const Value& v) {  // after the model rows: a setting wins over them
         for (const auto& assignment : v.as<std::vector<std::string>>())
           apply_model_setting(assignment, s.model_options);
       }},
      {"eval-every", "train", T::kInteger, "5", "validate every N epochs (0: never)",
       [](TrainSetup& s, const Value& v) { s.trainer.eval_every = integer(v); }},
      {"monitor", "train", T::kText, "NDCG@10", "validation metric that picks the best epoch",
       [](TrainSetup& s, const Value& v) { s.trainer.monitor = text(v); }},
      {"patience", "train", T::kInteger, "0",
       "stop after N validations without improvement (0: off)",
       [](TrainSetup& s, const Value& v) { s.trainer.patience = integer(v); }},
      {"top-k", "eval", T::kInteger, "10", "cut-off shown in the printed table",
       [](TrainSetup& s, const Value& v) {
         s.table_k = integer(v);
         if (s.table_k < 1) fail("--top-k must be at least 1 (got {})", s.table_k);
       },
       "k"},
      {"eval-protocol", "eval", T::kText, "full",
       "full (rank every item) or sampled:N (N uniform negatives per test item)",
       [](TrainSetup& s, const Value& v) {
         s.protocol = text(v);
         sampled_negatives(s.protocol);  // checks it
       }},
      {"head", "eval", T::kText, "interactions:0.5",
       "head items of HeadShare and APLT: interactions:S (the most popular items holding share S "
       "of the training interactions) or items:F (the most popular fraction F of the items, e.g. "
       "items:0.2)",
       [](TrainSetup& s, const Value& v) {
         std::tie(s.eval.head_rule, s.eval.head_share) = parse_head(text(v));
       }},
      {"eval-memory-mb", "eval", T::kInteger, "512", "memory budget for one evaluation chunk",
       [](TrainSetup& s, const Value& v) { s.eval.memory_budget_mb = integer(v); }},
      {"user-metrics", "eval", T::kFlag, nullptr,
       "write each test user's NDCG@K and Recall@K to RUN/metrics.users.tsv (full ranking; for "
       "paired significance tests, which `polyphony report` runs)",
       [](TrainSetup& s, const Value& v) { s.user_metrics = v.as<bool>(); }},
      {"threads", "run", T::kInt, "0", "CPU threads (0: all cores)",
       [](TrainSetup& s, const Value& v) {
         s.threads = v.as<int>();
         if (s.threads < 0) fail("--threads must be 0 (all cores) or more (got {})", s.threads);
       }},
      {"out", "run", T::kText, nullptr, "run directory (default runs/MODEL-TIMESTAMP)",
       [](TrainSetup& s, const Value& v) { s.out = text(v); }},
      {"config", "", T::kText, nullptr,
       "TOML run configuration (configs/*.toml); the command line overrides it", nullptr},
      {"resume", "", T::kText, nullptr,
       "continue the run in RUN_DIR from its newest valid checkpoint (options given besides "
       "override the run's own: --epochs, --patience, --lr, --device)",
       nullptr},
      {"checkpoint-every-epochs", "train", T::kInteger, "1",
       "checkpoint every N epochs (0: only at the end and on signals)",
       [](TrainSetup& s, const Value& v) { s.trainer.checkpoints.every_epochs = integer(v); }},
      {"checkpoint-every-steps", "train", T::kInteger, "0",
       "also checkpoint every N optimiser steps (0: off)",
       [](TrainSetup& s, const Value& v) { s.trainer.checkpoints.every_steps = integer(v); }},
      {"keep-checkpoints", "train", T::kInteger, "3",
       "step checkpoints kept (best.ckpt is kept besides)",
       [](TrainSetup& s, const Value& v) { s.trainer.checkpoints.keep_last = integer(v); }},
      {"on-nonfinite", "train", T::kText, "stop",
       "on a non-finite loss: stop, or rollback (reload the last checkpoint, halve the learning "
       "rate, up to 3 times)",
       [](TrainSetup& s, const Value& v) {
         s.on_nonfinite = text(v);
         s.trainer.on_nonfinite = parse_nonfinite_policy(s.on_nonfinite);
       }},
      {"cuda-graph", "train", T::kText, "auto",
       "capture the training step as a CUDA graph and replay it: auto (where the step can be "
       "captured; the log says why not elsewhere), on (or fail saying why not), off",
       [](TrainSetup& s, const Value& v) { s.trainer.cuda_graph = parse_cuda_graph(text(v)); }},
      {"deterministic", "train", T::kFlag, nullptr,
       "use deterministic algorithms on the GPU as well (slower)",
       [](TrainSetup& s, const Value& v) { s.deterministic = v.as<bool>(); }},
      {"tensorboard", "run", T::kFlag, nullptr,
       "write TensorBoard event files to RUN/tensorboard/: every metrics.jsonl value, the test "
       "metrics and the config as hyper-parameters (tensorboard --logdir RUN)",
       [](TrainSetup& s, const Value& v) { s.tensorboard = v.as<bool>(); }},
      {"tensorboard-steps", "run", T::kInteger, "0",
       "with --tensorboard, also the running mean loss terms every N steps (0: per epoch only)",
       [](TrainSetup& s, const Value& v) {
         s.trainer.report_losses_every = integer(v);
         if (s.trainer.report_losses_every < 0)
           fail("--tensorboard-steps must be 0 (off) or more (got {})",
                s.trainer.report_losses_every);
       }},
      {"tensorboard-group", "run", T::kText, nullptr,
       "hparams group of the run in TensorBoard: runs of one group are repeats of one setting "
       "(sweeps give each point its group)",
       [](TrainSetup& s, const Value& v) { s.tensorboard_group = text(v); }},
      {"mlflow", "run", T::kText, nullptr,
       "log the run to this MLflow tracking server (http://HOST:PORT): the config as params, "
       "every metrics.jsonl value, the test metrics, tags and the run's files as artifacts "
       "(default: $MLFLOW_TRACKING_URI when set)",
       [](TrainSetup& s, const Value& v) { s.mlflow.tracking_uri = text(v); }},
      {"mlflow-experiment", "run", T::kText, "polyphony",
       "MLflow experiment of the run (created when missing)",
       [](TrainSetup& s, const Value& v) { s.mlflow.experiment = text(v); }},
      {"mlflow-run-name", "run", T::kText, nullptr,
       "MLflow run name (default: the run directory's name)",
       [](TrainSetup& s, const Value& v) { s.mlflow.run_name = text(v); }},
      {"mlflow-tag", "run", T::kRepeatedText, nullptr,
       "KEY=VALUE: a tag of the MLflow run (repeatable)",
       [](TrainSetup& s, const Value& v) {
         for (const auto& tag : v.as<std::vector<std::string>>()) {
           const auto equals = tag.find('=');
           if (equals == std::string::npos || equals == 0)
             fail("--mlflow-tag '{}': expected KEY=VALUE", tag);
           s.mlflow.tags.emplace_back(tag.substr(0, equals), tag.substr(equals + 1));
         }
       }},
      {"mlflow-parent", "run", T::kText, nullptr,
       "MLflow run id of the parent run (polyphony sweep sets it to the sweep's run)",
       [](TrainSetup& s, const Value& v) { s.mlflow.parent_run_id = text(v); }},
      {"mlflow-timeout", "run", T::kReal, "10",
       "seconds one request to the MLflow server may take; failed requests are kept and retried",
       [](TrainSetup& s, const Value& v) {
         s.mlflow.timeout_seconds = real(v);
         if (!(s.mlflow.timeout_seconds > 0))
           fail("--mlflow-timeout must be positive (got {})", s.mlflow.timeout_seconds);
       }},
      {"mlflow-wait", "run", T::kReal, "60",
       "seconds the end of the run waits for the MLflow server to take what it has not yet",
       [](TrainSetup& s, const Value& v) {
         s.mlflow.wait_seconds = real(v);
         if (!(s.mlflow.wait_seconds >= 0))
           fail("--mlflow-wait must be 0 or more (got {})", s.mlflow.wait_seconds);
       }},
      {"progress-interval", "run", T::kReal, "30",
       "seconds between progress lines when not on a terminal",
       [](TrainSetup& s, const Value& v) {
         s.progress_interval = real(v);
         if (!(s.progress_interval > 0))
           fail("--progress-interval must be positive (got {})", s.progress_interval);
       }},
      {"quiet", "run", T::kFlag, nullptr, "no per-epoch lines",
       [](TrainSetup& s, const Value& v) { s.quiet = v.as<bool>(); }},
      {"json", "run", T::kFlag, nullptr,
       "print the result (run, summary, test metrics) as JSON on the standard output; the lines "
       "for people go to the standard error",
       [](TrainSetup& s, const Value& v) { s.json = v.as<bool>(); }},
      // Data: what is read, how it is filtered and split, the groups, the cache.
      {"dataset", "data", T::kText, "synthetic:music-demo",
       "KIND:PATH with KIND movielens, ml100k, lastfm-hetrec, lfm, lightgcn or csv; or "
       "synthetic:PRESET[,KEY=VALUE...] (music-demo, music-small, lfm-2b-scale)",
       [](TrainSetup& s, const Value& v) { s.data.load.source = parse_dataset(text(v)); }},
      {"min-rating", "data", T::kReal, nullptr,
       "keep interactions rated at least this (implicit feedback from ratings)",
       [](TrainSetup& s, const Value& v) { set_min_weight(s.data, "min-rating", real(v)); }},
      {"min-plays", "data", T::kReal, nullptr, "keep user-artist pairs played at least this often",
       [](TrainSetup& s, const Value& v) { set_min_weight(s.data, "min-plays", real(v)); }},
      {"columns", "data", T::kText, nullptr,
       "csv: column names, user=NAME,item=NAME[,weight=NAME][,timestamp=NAME]",
       [](TrainSetup& s, const Value& v) { s.data.load.read.columns = parse_columns(text(v)); }},
      {"delimiter", "data", T::kText, nullptr, "csv: field delimiter (default: from the header)",
       [](TrainSetup& s, const Value& v) {
         s.data.load.read.delimiter = parse_delimiter(text(v));
       }},
      {"min-user-interactions", "data", T::kInteger, "0", "drop users with fewer interactions",
       [](TrainSetup& s, const Value& v) {
         s.data.load.filters.min_user_interactions = non_negative("min-user-interactions", v);
       }},
      {"min-item-interactions", "data", T::kInteger, "0", "drop items with fewer interactions",
       [](TrainSetup& s, const Value& v) {
         s.data.load.filters.min_item_interactions = non_negative("min-item-interactions", v);
       }},
      {"kcore", "data", T::kText, nullptr,
       "iterative k-core: U[,I] minimum interactions per user and item, to a fixpoint",
       [](TrainSetup& s, const Value& v) { s.data.load.filters = parse_kcore(text(v)); }},
      {"split", "data", T::kText, "ratio:0.8,0.1",
       "ratio:TRAIN,VALID | loo:last | loo:random | temporal:TRAIN,VALID | files",
       [](TrainSetup& s, const Value& v) {
         const uint64_t seed = s.data.split.seed;  // landed in either order
         s.data.split = parse_split(text(v));
         s.data.split.seed = seed;
       }},
      {"item-groups", "data", T::kText, "auto",
       "auto | builtin | popularity:SHARE | attribute:COLUMN=V1,V2[/W1,W2] | none",
       [](TrainSetup& s, const Value& v) { s.data.item_groups = parse_item_groups(text(v)); }},
      {"item-attributes", "data", T::kText, nullptr,
       "CSV/TSV of item attributes, first column the item id",
       [](TrainSetup& s, const Value& v) { s.data.item_attributes = text(v); }},
      {"user-groups", "data", T::kText, "none",
       "none | activity:Q | diversity:Q | attribute:COLUMN | attribute:COLUMN@C1,C2,...",
       [](TrainSetup& s, const Value& v) { s.data.user_groups = parse_user_groups(text(v)); }},
      {"user-attributes", "data", T::kText, nullptr,
       "CSV/TSV of user attributes, first column the user id",
       [](TrainSetup& s, const Value& v) { s.data.user_attributes = text(v); }},
      {"cache-dir", "data", T::kText, nullptr,
       "folder of the parsed-dataset cache (default ~/.cache/polyphony)",
       [](TrainSetup& s, const Value& v) { s.data.load.cache_dir = text(v); }},
      {"no-cache", "data", T::kFlag, nullptr, "parse the files, do not read or write the cache",
       [](TrainSetup& s, const Value& v) { s.no_cache = v.as<bool>(); }},
  };
  return table;
}

const TrainOption* find_train_option(const std::string& name) {
  for (const auto& row : train_option_table())
    if (name == row.name) return &row;
  return nullptr;
}

void add_option_rows(cxxopts::Options& spec, bool data_only) {
  for (const auto& row : train_option_table()) {
    const bool data = row.section == std::string("data");
    if (data_only && !data) continue;
    const std::string flags = row.letter ? fmt::format("{},{}", row.letter, row.name) : row.name;
    std::shared_ptr<cxxopts::Value> value;
    switch (row.type) {
      case OptionType::kText:
        value = cxxopts::value<std::string>();
        break;
      case OptionType::kInteger:
        value = cxxopts::value<int64_t>();
        break;
      case OptionType::kUnsigned:
        value = cxxopts::value<uint64_t>();
        break;
      case OptionType::kInt:
        value = cxxopts::value<int>();
        break;
      case OptionType::kReal:
        value = cxxopts::value<double>();
        break;
      case OptionType::kFlag:
        value = cxxopts::value<bool>()->default_value("false")->implicit_value("true");
        break;
      case OptionType::kRepeatedText:
        value = cxxopts::value<std::vector<std::string>>();
        break;
    }
    if (row.default_value) value->default_value(row.default_value);
    spec.add_options(data ? "data" : "")(flags, row.help, value);
  }
}

void land_option_rows(TrainSetup& setup, const cxxopts::ParseResult& args, bool data_only) {
  for (const auto& row : train_option_table()) {
    if (!row.land || (data_only && row.section != std::string("data"))) continue;
    const auto& value = args[row.name];
    if (value.count() || value.has_default()) row.land(setup, value);
  }
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
  if (s.user_metrics && sampled_negatives(s.protocol))
    fail("--user-metrics needs full-ranking evaluation (--eval-protocol full, not {})", s.protocol);
  s.mlflow.tracking_uri = mlflow_tracking_uri(s.mlflow.tracking_uri, "--mlflow");
  if (s.trainer.report_losses_every > 0 && !s.tensorboard)
    fail("--tensorboard-steps {} needs --tensorboard", s.trainer.report_losses_every);
  if (s.out.empty()) s.out = default_run_directory(s.model);
  if (std::find(s.eval.ks.begin(), s.eval.ks.end(), s.table_k) == s.eval.ks.end())
    s.eval.ks.push_back(s.table_k);
  return s;
}

namespace {

// A number option's value that does not parse is an error naming the option (cxxopts' own
// message, "Argument '1e9' failed to parse", does not say which).
void check_number_values(const std::vector<std::string>& arguments) {
  for (size_t i = 0; i < arguments.size(); ++i) {
    if (arguments[i].rfind("--", 0) != 0) continue;
    const auto equals = arguments[i].find('=');
    const std::string name =
        arguments[i].substr(2, equals == std::string::npos ? equals : equals - 2);
    const TrainOption* row = find_train_option(name);
    if (!row || (row->type != OptionType::kInteger && row->type != OptionType::kInt &&
                 row->type != OptionType::kUnsigned && row->type != OptionType::kReal))
      continue;
    const auto value = option_value_at(arguments, i, "--" + name);
    if (!value) continue;
    int64_t integer = 0;
    double number = 0;
    switch (row->type) {
      case OptionType::kInteger:
      case OptionType::kInt:
        if (!parse_int64(*value, integer) ||
            (row->type == OptionType::kInt && integer != static_cast<int>(integer)))
          fail("--{} '{}': expected an integer", name, *value);
        break;
      case OptionType::kUnsigned:
        if (!parse_int64(*value, integer) || integer < 0)
          fail("--{} '{}': expected a non-negative integer", name, *value);
        break;
      case OptionType::kReal:
        if (!parse_double(*value, number)) fail("--{} '{}': expected a number", name, *value);
        break;
      default:
        break;
    }
  }
}

}  // namespace

cxxopts::ParseResult parse_arguments(cxxopts::Options& spec, const std::string& name,
                                     const std::vector<std::string>& arguments) {
  check_number_values(arguments);
  std::vector<char*> argv{const_cast<char*>(name.c_str())};
  for (const auto& a : arguments) argv.push_back(const_cast<char*>(a.c_str()));
  auto args = spec.parse(static_cast<int>(argv.size()), argv.data());
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
      if (added) at->second = config_file_arguments(*file, spec_);
      from_files.insert(from_files.end(), at->second.begin(), at->second.end());
    } else if (const auto setting = option_value_at(arguments, i, "--set")) {
      if (is_removal(*setting)) {  // what the files and the settings before it gave
        remove_setting(*setting, rest);
        removals.push_back(*setting);
        continue;
      }
      auto [at, added] = settings_.try_emplace(*setting);
      if (added) at->second = setting_arguments(*setting, spec_);
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
