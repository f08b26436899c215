// polyphony: the command line. It only composes the engine and the models.

#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <cxxopts.hpp>

#include "common/error.h"
#include "engine/run/process_memory.h"
#include "kernels/cpu_capability.h"
#include "tools/commands/commands.h"
#include "tools/options/error_message.h"

namespace {

struct Command {
  const char* name;
  const char* summary;
  int (*run)(int, char**);
};

const Command kCommands[] = {
    {"train", "train a model on a dataset, evaluate it and write a run directory",
     polyphony::cli::train},
    {"eval", "evaluate a trained model (run directory or checkpoint) on its data",
     polyphony::cli::eval},
    {"recommend", "top-N items for given users from a trained model, as CSV or JSON",
     polyphony::cli::recommend},
    {"export", "write a trained model as a TorchScript archive for serving",
     polyphony::cli::export_model},
    {"analyze", "spectrum, spikiness and item-group exposure of a trained model, with charts",
     polyphony::cli::analyze},
    {"bench", "training, evaluation and kernel throughput on the CPU and CUDA side by side",
     polyphony::cli::bench},
    {"sweep", "train a sweep file's points (variants x axes x seeds), locally or on Slurm",
     polyphony::cli::sweep},
    {"tune", "search run settings with Optuna (TPE, NSGA-II; pruning), locally or on Slurm",
     polyphony::cli::tune},
    {"report", "a sweep's or tune's results: tables over seeds, significance, Pareto charts",
     polyphony::cli::report},
    {"datagen", "write a synthetic preset (or convert a dataset) to files in a supported format",
     polyphony::cli::datagen},
};

// The usage, on stdout when asked for (--help), on stderr after a mistake.
void print_usage(std::FILE* to) {
  fmt::print(
      to,
      "polyphony — recommendation models that keep mainstream music from crowding out the "
      "rest\n\n"
      "usage: polyphony <command> [options]   (polyphony <command> --help for its options)\n\n"
      "commands:\n");
  for (const auto& c : kCommands) fmt::print(to, "  {:<10}{}\n", c.name, c.summary);
  fmt::print(to,
             "\nWith no command options, `polyphony train` trains matrix factorisation on the\n"
             "built-in synthetic music dataset and prints utility and fairness metrics.\n");
}

}  // namespace

int main(int argc, char** argv) {
  polyphony::configure_process_memory();
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    // No command is a usage error: status 2, like every other mistake (docs/cli.md).
    print_usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const std::string name = argv[1];
  for (const auto& c : kCommands) {
    if (name != c.name) continue;
    try {
      // A bad POLYPHONY_CPU_CAPABILITY is refused before any work, not at the first kernel call.
      polyphony::kernels::cpu_capability();
      return c.run(argc - 1, argv + 1);
    } catch (const polyphony::Error& e) {
      fmt::print(stderr, "polyphony {}: error: {}\n", name, polyphony::cli::with_flags(e.what()));
    } catch (const cxxopts::exceptions::exception& e) {
      fmt::print(stderr, "polyphony {}: error: {} (see polyphony {} --help)\n", name, e.what(),
                 name);
    } catch (const c10::Error& e) {
      fmt::print(stderr, "polyphony {}: error: {}\n", name, e.what_without_backtrace());
    } catch (const std::exception& e) {
      fmt::print(stderr, "polyphony {}: error: {}\n", name, e.what());
    }
    return 2;
  }
  fmt::print(stderr, "polyphony: unknown command '{}' (see polyphony --help)\n", name);
  return 2;
}
