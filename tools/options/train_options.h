#pragma once
// The options of `polyphony train`, read into one struct. The commands that reopen a run (eval,
// recommend, export) parse the run's saved arguments (command.json) with the same code, so they
// rebuild exactly the data and the model the run had.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <cxxopts.hpp>
#include <nlohmann/json.hpp>

#include "engine/data/negative_sampler.h"
#include "engine/data/prepared_data.h"
#include "engine/eval/evaluator.h"
#include "engine/train/trainer.h"
#include "tools/track/mlflow_log.h"

namespace polyphony::cli {

struct TrainSetup {
  std::string device = "auto";
  uint64_t seed = 42;
  int threads = 0;
  bool deterministic = false;
  std::string model;
  nlohmann::json model_options;  // --dim, --k-filter, --ortho, --resn, --set model.KEY=VALUE
  DataSetup data;
  SamplerOptions sampler;
  TrainerOptions trainer;  // without the checkpoint folder and metadata, which need the run
  std::string on_nonfinite;
  EvaluatorOptions eval;
  std::string protocol;       // full or sampled:N
  bool user_metrics = false;  // --user-metrics: metrics.users.tsv
  int64_t table_k = 10;
  std::string out;
  bool quiet = false;
  bool json = false;  // the result as JSON on stdout, everything else on stderr
  double progress_interval = 30;
  bool tensorboard = false;       // --tensorboard: RUN/tensorboard/ event files
  std::string tensorboard_group;  // the hparams session group
  MlflowSettings mlflow;          // --mlflow: an MLflow tracking server
  bool no_cache = false;          // --no-cache: data.load.cache_dir stays empty
};

// The type of an option's value: text, int64_t, uint64_t, int, double, a flag (its presence is
// its value) or repeatable text.
enum class OptionType { kText, kInteger, kUnsigned, kInt, kReal, kFlag, kRepeatedText };

// One option of `polyphony train`, declared once: the command line (cxxopts), config files and
// --set (its section), the resolved config, the help and the read-back all come from this row.
struct TrainOption {
  const char* name;     // as on the command line (--batch-size); in a config, batch_size
  const char* section;  // data, model, train, eval or run; "" for command-line-only options
  OptionType type;
  const char* default_value;  // nullptr: none
  const char* help;
  // Where a value lands (called when the option has one, given or default; nullptr: read by the
  // command itself). A bad value is an error naming the option.
  void (*land)(TrainSetup& setup, const cxxopts::OptionValue& value);
  const char* letter = nullptr;  // one-letter form (-k)
};

// Every option of `polyphony train`, in the order of its help.
const std::vector<TrainOption>& train_option_table();

// The row of `name`, or nullptr.
const TrainOption* find_train_option(const std::string& name);

// Adds every option of `polyphony train` (data options included, --help not).
void add_train_options(cxxopts::Options& spec);

// Adds the rows of the table to `spec`: all, or with `data_only` the data section's.
void add_option_rows(cxxopts::Options& spec, bool data_only);

// Lands every row that has a value (given or default) into `setup`: all, or the data section's.
void land_option_rows(TrainSetup& setup, const cxxopts::ParseResult& args, bool data_only);

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
