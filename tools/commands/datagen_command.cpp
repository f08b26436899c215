// polyphony datagen: writes a dataset (a synthetic preset, or any readable dataset) to files in
// one of the supported formats.

#include <chrono>

#include <fmt/format.h>
#include <cxxopts.hpp>

#include "common/error.h"
#include "engine/data/dataset_loader.h"
#include "engine/data/dataset_writer.h"
#include "engine/data/split.h"
#include "tools/commands/commands.h"
#include "tools/options/command_line.h"
#include "tools/options/train_options.h"

namespace polyphony::cli {

int datagen(int argc, char** argv) {
  cxxopts::Options spec(
      "polyphony datagen",
      "Write a synthetic preset (or convert any dataset) to files in a supported format.");
  spec.add_options()("format", "movielens, ml100k, lastfm-hetrec, lfm, lightgcn, csv or recbole",
                     cxxopts::value<std::string>())("out", "folder to write into",
                                                    cxxopts::value<std::string>())(
      "force", "replace files that exist already")("h,help", "show this help");
  // As polyphony train takes them; --split and --seed: the split lightgcn files hold (and
  // recbole's benchmark files, when --split is given).
  const std::vector<std::string> train_options = {"dataset", "split", "seed"};
  add_named_rows(spec, train_options);
  auto args = parse_command_line(spec, argc, argv);
  if (args.count("help")) {
    fmt::print("{}\n", spec.help());
    return 0;
  }
  if (!args.unmatched().empty()) fail("unexpected argument '{}'", args.unmatched().front());
  if (!args.count("format"))
    fail("--format is required (movielens, ml100k, lastfm-hetrec, lfm, lightgcn, csv or recbole)");
  if (!args.count("out")) fail("--out is required (the folder to write into)");
  const std::string format = args["format"].as<std::string>();

  TrainSetup setup;
  land_named_rows(setup, args, train_options);
  const auto start = std::chrono::steady_clock::now();
  const LoadedDataset loaded = load_dataset(setup.data.load);
  const Dataset& d = loaded.dataset;
  Split split;
  const bool split_files = format == "lightgcn" || (format == "recbole" && args.count("split"));
  if (split_files) {
    setup.data.split.seed = setup.seed;
    split = make_split(d, setup.data.split);
  }
  const auto files =
      write_dataset(d, format, args["out"].as<std::string>(), split_files ? &split : nullptr,
                    /*replace=*/args.count("force") > 0);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  fmt::print("{}: {} users, {} items, {} interactions written as {} in {:.1f} s\n", d.source,
             d.num_users, d.num_items, d.interactions.size(), format, seconds);
  for (const auto& f : files) fmt::print("  {}\n", f.string());
  return 0;
}

}  // namespace polyphony::cli
