#pragma once
// The options of `polyphony train`, read into one struct. The commands that reopen a run (eval,
// recommend, export) parse the run's saved arguments (command.json) with the same code, so they
// rebuild exactly the data and the model the run had.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <cxxopts.hpp>
#include <nlohmann/json.hpp>

#include "engine/data/negative_sampler.h"
#include "engine/data/prepared_data.h"
#include "engine/eval/evaluator.h"
#include "engine/train/trainer_options.h"
#include "tools/track/mlflow_log.h"

namespace polyphony::cli {

struct TrainSetup {
  std::string device = "auto";
  uint64_t seed = 42;
  int threads = 0;
  bool deterministic = false;
  std::string model = "mf";
  nlohmann::json model_options;  // --dim, --k-filter, --ortho, --resn, --set model.KEY=VALUE
  DataSetup data;
  SamplerOptions sampler;
  TrainerOptions trainer;  // without the checkpoint folder and metadata, which need the run
  EvaluatorOptions eval;
  std::string eval_protocol = "full";  // full or sampled:N
  bool user_metrics = false;           // --user-metrics: metrics.users.tsv
  int64_t top_k = 10;                  // the cut-off of the printed table
  std::string out;
  bool quiet = false;
  bool json = false;  // the result as JSON on stdout, everything else on stderr
  double progress_interval = 30;
  bool tensorboard = false;       // --tensorboard: RUN/tensorboard/ event files
  int64_t tensorboard_steps = 0;  // and the running mean losses every N steps (0: per epoch)
  std::string tensorboard_group;  // the hparams session group
  MlflowSettings mlflow;          // --mlflow: an MLflow tracking server
  bool no_cache = false;          // --no-cache: data.load.cache_dir stays empty
};

// One option of `polyphony train` on the command line: a layer's descriptor (common/option.h)
// placed in a config section. The command line (cxxopts), config files and --set, the resolved
// config, the help and the read-back all come from these rows; the layers own the descriptors.
struct TrainOption {
  TrainOption(std::string name, std::string section, OptionType type,
              std::optional<std::string> default_value, std::string help,
              std::function<void(TrainSetup&, const std::string&)> set = {})
      : name(std::move(name)),
        section(std::move(section)),
        type(type),
        default_value(std::move(default_value)),
        help(std::move(help)),
        set(std::move(set)) {}

  std::string name;     // the flag, dashed (--batch-size); in a config, batch_size
  std::string section;  // data, model, train, eval or run; "" for command-line-only options
  OptionType type = OptionType::kValue;
  std::optional<std::string> default_value;  // none: unset unless given
  std::string help;
  // Stores a value in the setup (nullptr: read by the command itself); a bad value is an error
  // naming the option.
  std::function<void(TrainSetup&, const std::string&)> set;
  const char* letter = nullptr;  // one-letter form (-k)
};

// Every option of `polyphony train`, in the order of its help.
const std::vector<TrainOption>& train_option_table();

// A name as the command line writes it: batch_size is batch-size (--batch-size).
std::string dashed_name(std::string name);

// The row of `name` (dashed), or nullptr.
const TrainOption* find_train_option(const std::string& name);

// Checks `value` of --`name` alone, as the option reads it; a bad one is an error naming the
// option.
void check_option_value(const TrainOption& row, const std::string& value);

// Adds every option of `polyphony train` (data options included, --help not).
void add_train_options(cxxopts::Options& spec);

// Adds the rows of the table to `spec`: all, or with `data_only` the data section's.
void add_option_rows(cxxopts::Options& spec, bool data_only);

// Stores every row that has a value (given or default) in `setup`: all, or the data section's.
void land_option_rows(TrainSetup& setup, const cxxopts::ParseResult& args, bool data_only);

// For commands that take a few of train's options (bench, datagen): adds the rows called
// `names` (dashed) to `spec`, and stores their values in `setup`.
void add_named_rows(cxxopts::Options& spec, const std::vector<std::string>& names);
void land_named_rows(TrainSetup& setup, const cxxopts::ParseResult& args,
                     const std::vector<std::string>& names);

// Reads them back; a bad value is an error naming the option.
TrainSetup read_train_setup(const cxxopts::ParseResult& args);

// Parses `arguments` (without the program and command names) with `spec`; `name` is the
// command's name for messages. Leftover positional arguments are an error.
cxxopts::ParseResult parse_arguments(cxxopts::Options& spec, const std::string& name,
                                     const std::vector<std::string>& arguments);

// Removes every --OPTION VALUE and --OPTION=VALUE from `arguments` and returns the values in
// order: for options read before cxxopts parses the rest (a value may contain commas, which
// cxxopts would split). A missing value is an error.
std::vector<std::string> take_option_values(std::vector<std::string>& arguments,
                                            const std::string& option);

// --config FILE becomes the file's arguments, placed first (the command line wins), and
// --set SECTION.KEY=VALUE the option it names; --set model.KEY=VALUE stays a model setting.
// --set ~SECTION.KEY removes what the files and the arguments before it set SECTION.KEY to, so
// that it takes its default. The result parses with the options of add_train_options.
std::vector<std::string> expand_configuration(const std::vector<std::string>& arguments);

// expand_configuration for many argument lists that share config files and settings (the
// points of a sweep): each file and setting is read and checked once, and one option spec
// serves every expansion and read_setup.
class ConfigurationExpander {
 public:
  ConfigurationExpander();
  std::vector<std::string> expand(const std::vector<std::string>& arguments);
  // read_train_setup of `arguments` (expanded ones).
  TrainSetup read_setup(const std::vector<std::string>& arguments);

 private:
  cxxopts::Options spec_;
  std::map<std::string, std::vector<std::string>> files_, settings_;
};

}  // namespace polyphony::cli
