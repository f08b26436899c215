#pragma once
// The options of `polyphony train`, read into one struct. The commands that reopen a run (eval,
// recommend, export) parse the run's saved arguments (command.json) with the same code, so they
// rebuild exactly the data and the model the run had.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <cxxopts.hpp>
#include <nlohmann/json.hpp>

#include "engine/data/negative_sampler.h"
#include "engine/data/prepared_data.h"
#include "engine/eval/evaluator.h"
#include "engine/train/trainer.h"

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
  std::string protocol;  // full or sampled:N
  int64_t table_k = 10;
  std::string out;
  bool quiet = false;
  bool json = false;  // the result as JSON on stdout, everything else on stderr
  double progress_interval = 30;
};

// Adds every option of `polyphony train` (data options included, --help and --resume not).
void add_train_options(cxxopts::Options& spec);

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
// The result parses with the options of add_train_options.
std::vector<std::string> expand_configuration(const std::vector<std::string>& arguments);

// --eval-protocol: the number of sampled negatives of sampled:N, nothing for full; anything else
// is an error naming the option.
std::optional<int64_t> sampled_negatives(const std::string& protocol);

}  // namespace polyphony::cli
