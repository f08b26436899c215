// TOML run configurations: every option has one section, the example configs parse, errors name
// the file, line and key with a suggestion, and a resolved config reads back to itself.

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>

#include "tests/test_support.h"
#include "tools/options/config_file.h"
#include "tools/options/error_message.h"
#include "tools/options/train_options.h"

namespace polyphony::cli {
namespace {

using testing::error_of;
using testing::TempDir;

cxxopts::Options train_spec() {
  cxxopts::Options spec("polyphony train", "");
  add_train_options(spec);
  return spec;
}

TEST(ConfigFile, EveryTrainOptionHasExactlyOneSection) {
  auto spec = train_spec();
  std::set<std::string> in_sections;
  for (const auto& section : config_sections())
    for (const auto& option : section.options) {
      EXPECT_TRUE(in_sections.insert(option).second) << option << " is in two sections";
    }
  std::set<std::string> options;
  for (const auto& group : spec.groups())
    for (const auto& o : spec.group_help(group).options) options.insert(o.l.front());
  // Not config keys: the command itself, and the ways configs are given.
  for (const char* command_only : {"resume", "config", "set"}) options.erase(command_only);
  EXPECT_EQ(in_sections, options);
}

TEST(ConfigFile, TheExampleConfigsParse) {
  const auto folder = testing::configs_folder();
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    if (entry.path().extension() != ".toml") continue;
    ++count;
    auto spec = train_spec();
    const auto arguments = config_file_arguments(entry.path());
    EXPECT_NO_THROW(read_train_setup(parse_arguments(spec, "polyphony train", arguments)))
        << entry.path();
  }
  EXPECT_GE(count, 4);
}

// Every shipped config resolves to the config.resolved.toml and .json recorded in
// tests/golden/config_resolved/: how options are read, defaulted and written back may be
// reorganised, but what a config means may not change unnoticed. A deliberate change of meaning
// regenerates the files: POLYPHONY_UPDATE_GOLDEN=1 build/tests/polyphony_tests
// --gtest_filter='ConfigFile.EveryShippedConfigResolvesAsRecorded', then review the diff.
TEST(ConfigFile, EveryShippedConfigResolvesAsRecorded) {
  const auto configs = testing::configs_folder();
  const auto golden = configs.parent_path() / "tests" / "golden" / "config_resolved";
  const bool update = std::getenv("POLYPHONY_UPDATE_GOLDEN") != nullptr;
  // Paths a config names are made absolute from its folder: recorded relative to the repository.
  const auto relative = [&](std::string text) {
    const std::string root = configs.parent_path().string() + "/";
    for (size_t at; (at = text.find(root)) != std::string::npos;) text.replace(at, root.size(), "");
    return text;
  };
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(configs)) {
    if (entry.path().extension() != ".toml") continue;
    ++count;
    auto spec = train_spec();
    const auto args = parse_arguments(spec, "polyphony train", config_file_arguments(entry.path()));
    const std::string stem = entry.path().stem().string();
    const std::map<std::string, std::string> resolved = {
        {stem + ".toml", relative(resolved_config_toml(args))},
        {stem + ".json", relative(resolved_config_json(args).dump(2)) + "\n"}};
    for (const auto& [name, text] : resolved) {
      if (update) {
        std::filesystem::create_directories(golden);
        std::ofstream(golden / name, std::ios::binary) << text;
      }
      EXPECT_EQ(text, testing::read_file(golden / name))
          << entry.path() << " no longer resolves to " << (golden / name);
    }
  }
  EXPECT_GE(count, 12);
  // No recorded file without a config.
  for (const auto& entry : std::filesystem::directory_iterator(golden)) {
    const auto config = configs / (entry.path().stem().string() + ".toml");
    EXPECT_TRUE(std::filesystem::exists(config)) << entry.path() << " has no config";
  }
}

TEST(ConfigFile, ErrorsNameTheFileLineAndKeyWithASuggestion) {
  TempDir dir;
  auto spec = train_spec();
  auto error_in = [&](const std::string& text) {
    const auto file = dir.write("run.toml", text);
    return error_of([&] { config_file_arguments(file); });
  };
  EXPECT_CONTAINS(
      error_in("[train]\nepoch = 5\n"),
      "run.toml:2: train.epoch: unknown key 'epoch' in [train] — did you mean 'epochs'?");
  EXPECT_CONTAINS(error_in("[data]\nepochs = 5\n"), "it belongs in [train]");
  EXPECT_CONTAINS(error_in("[trian]\nepochs = 5\n"),
                  "unknown section 'trian' — did you mean 'train'?");
  EXPECT_CONTAINS(error_in("[train]\nepochs = \"ten\"\n"), "run.toml:2: train.epochs:");
  EXPECT_CONTAINS(error_in("[train]\nepochs = 5\nlr = \n"), "run.toml:3:");
  EXPECT_CONTAINS(error_in("epochs = 5\n"), "'epochs' must be inside a section");
  EXPECT_CONTAINS(error_of([&] { setting_arguments("train.epoch=3"); }),
                  "--set 'train.epoch=3': unknown key 'epoch' in [train] — did you mean 'epochs'?");
  EXPECT_CONTAINS(error_of([&] { setting_arguments("epochs"); }), "expected SECTION.KEY=VALUE");
  EXPECT_CONTAINS(error_of([&] { setting_arguments("model.resn_form=power,ratio"); }),
                  "--set 'model.resn_form=power,ratio': model option 'resn_form' takes one value, "
                  "not a list ('power,ratio')");
  EXPECT_CONTAINS(error_in("[model]\northo_form = \"default,official\"\n"),
                  "run.toml:2: model.ortho_form: model option 'ortho_form' takes one value");
  // A switch is true or false; anything else is not quietly false.
  EXPECT_EQ(error_of([&] { setting_arguments("data.no_cache=yes"); }),
            "--set 'data.no_cache=yes': expected true or false (got 'yes')");
  EXPECT_CONTAINS(error_in("[data]\nno_cache = \"maybe\"\n"),
                  "run.toml:2: data.no_cache: expected true or false (got 'maybe')");
  EXPECT_EQ(setting_arguments("data.no_cache=true"), (std::vector<std::string>{"--no-cache"}));
  EXPECT_TRUE(setting_arguments("data.no_cache=false").empty());
  // A config is a TOML file with settings: not a folder, a device or an empty file.
  EXPECT_EQ(error_of([&] { config_file_arguments(dir.path()); }),
            "--config " + dir.path().string() + ": not a file (expected a TOML file)");
  EXPECT_EQ(error_of([&] { config_file_arguments("/dev/null"); }),
            "--config /dev/null: not a file (expected a TOML file)");
  EXPECT_EQ(error_of([&] { config_file_arguments(dir.path() / "none.toml"); }),
            "--config " + (dir.path() / "none.toml").string() + ": no such file");
  EXPECT_CONTAINS(error_in("# nothing but a comment\n"),
                  "run.toml: no settings (expected sections such as [model] and [train])");
  EXPECT_CONTAINS(error_in("[train]\n"), "run.toml: no settings");
  // An empty section is still checked: a misspelt one is not quietly dropped.
  EXPECT_CONTAINS(error_in("[train]\nepochs = 5\n[evl]\n"),
                  "run.toml:3: unknown section 'evl' — did you mean 'eval'?");
}

TEST(ConfigFile, NonAsciiTextOnlyInStringsAndComments) {
  TempDir dir;
  auto spec = train_spec();
  // Found by fuzz/config_file_fuzzer: toml++ 3.3.0 reaches undefined behaviour on such text.
  const std::pair<std::string, int> refused[] = {
      {"[train]\nepochs\u00e9 = 5\n", 2},
      {"[train]\nepochs = 5 \u0416\n", 2},
      {"[data]\nitem_groups = \"\"\"a\\\n\u0416\"\"\"\n", 3},  // after a line-ending backslash
      {"[data]\nitem_groups = \"\"\"a\\  \r\n\n  \u0416\"\"\"\n", 4}};
  for (const auto& [text, line] : refused) {
    const auto file = dir.write("run.toml", text);
    EXPECT_CONTAINS(
        error_of([&] { config_file_arguments(file); }),
        fmt::format("run.toml:{}: a non-ASCII character outside a string or comment", line))
        << text;
  }
  // Also found by the fuzzer: a quote inside a value's trailing characters opens no string, so the
  // text after it is still code. Whatever the parser says, it names the file and line.
  const std::pair<std::string, int> invalid[] = {
      {"[model]\ndim = {2a = 31=\"layers\u031a\" = 10\"3\n", 2},
      {"[model]\ndim = 31=\"\u0416\"\n", 2}};
  for (const auto& [text, line] : invalid) {
    const auto file = dir.write("run.toml", text);
    EXPECT_CONTAINS(error_of([&] { config_file_arguments(file); }),
                    fmt::format("run.toml:{}:", line))
        << text;
  }
  const auto file = dir.write("run.toml",
                              "# Gruppen nach Land: Österreich\n[data]\nitem_groups = "
                              "'attribute:country=Österreich' # Ж\n");
  EXPECT_EQ(config_file_arguments(file),
            (std::vector<std::string>{"--item-groups", "attribute:country=Österreich"}));
}

TEST(ConfigFile, ValuesBecomeArgumentsAndModelKeysModelSettings) {
  TempDir dir;
  auto spec = train_spec();
  const auto file = dir.write("run.toml",
                              "[data]\nkcore = [10, 5]\nno_cache = true\n"
                              "[model]\nname = \"uiprotomf\"\nuser_prototypes = 71\n"
                              "[train]\nbatch-size = 326\nlr = 0.001\n");
  const std::vector<std::string> expected = {"--kcore",
                                             "10,5",
                                             "--no-cache",
                                             "--model",
                                             "uiprotomf",
                                             "--set",
                                             "model.user_prototypes=71",
                                             "--batch-size",
                                             "326",
                                             "--lr",
                                             "0.001"};
  EXPECT_EQ(config_file_arguments(file), expected);
}

TEST(ConfigFile, AResolvedConfigReadsBackToItself) {
  TempDir dir;
  auto spec = train_spec();
  const auto args = parse_arguments(
      spec, "polyphony train",
      {"--model", "uiprotomf", "--set", "model.user_prototypes=12", "--epochs", "7", "--lr",
       "0.002", "--kcore", "3,3", "--deterministic", "--out", (dir.path() / "r").string()});
  const std::string resolved = resolved_config_toml(args);
  const auto file = dir.write("resolved.toml", resolved);
  auto again_spec = train_spec();
  const auto again = parse_arguments(again_spec, "polyphony train", config_file_arguments(file));
  EXPECT_EQ(resolved_config_toml(again), resolved);
}

// --set goes through the same table as a config file: a model key that is a train option becomes
// that option, whole (cxxopts would split "16,12" if it stayed a --set), and a file's arguments
// come first so that the command line wins.
TEST(ConfigFile, SettingsAndFilesExpandIntoTrainArguments) {
  TempDir dir;
  const auto file = dir.write("run.toml", "[train]\nlr = 0.001\n");
  const std::vector<std::string> expected = {
      "--lr", "0.001", "--k-filter", "16,12", "--set", "model.user_prototypes=7", "--lr", "0.01"};
  EXPECT_EQ(expand_configuration({"--set", "model.k_filter=16,12", "--set=model.user_prototypes=7",
                                  "--config", file.string(), "--lr", "0.01"}),
            expected);
  EXPECT_CONTAINS(error_of([] { expand_configuration({"--set"}); }), "--set needs a value");
}

// --set ~SECTION.KEY removes what config files and earlier arguments gave the key, wherever the
// --config stands; a later setting applies again.
TEST(ConfigFile, ARemovalTakesASettingBackToItsDefault) {
  TempDir dir;
  const auto file =
      dir.write("run.toml",
                "[data]\nmin_rating = 4\nno_cache = true\n[model]\ndim = 8\nuser_prototypes = 7\n"
                "[train]\nlr = 0.1\n");
  using Args = std::vector<std::string>;
  EXPECT_EQ(expand_configuration({"--set", "~data.min_rating", "--config", file.string()}),
            (Args{"--no-cache", "--dim", "8", "--set", "model.user_prototypes=7", "--lr", "0.1"}));
  EXPECT_EQ(expand_configuration({"--config", file.string(), "--set", "~data.no_cache", "--set",
                                  "~model.user_prototypes", "--set", "~model.dim"}),
            (Args{"--min-rating", "4", "--lr", "0.1"}));
  EXPECT_EQ(expand_configuration({"--config", file.string(), "--lr", "0.5", "--set", "~train.lr",
                                  "--set", "train.lr=0.2"}),
            (Args{"--min-rating", "4", "--no-cache", "--dim", "8", "--set",
                  "model.user_prototypes=7", "--lr", "0.2"}));
  EXPECT_CONTAINS(error_of([] {
                    expand_configuration({"--set", "~train.epoch"});
                  }),
                  "unknown key 'epoch' in [train] — did you mean 'epochs'?");
  EXPECT_CONTAINS(error_of([] {
                    expand_configuration({"--set", "~dim"});
                  }),
                  "expected ~SECTION.KEY");
  EXPECT_CONTAINS(error_of([] {
                    expand_configuration({"--set", "~train.lr=3"});
                  }),
                  "expected ~SECTION.KEY");
}

// One table declares every option: each row reaches the setup, the resolved config (JSON and
// TOML) holds every row of its section, and the value given is the value used.
TEST(ConfigFile, EveryOptionOfTheTableLandsWhereItsRowSays) {
  TempDir dir;
  auto spec = train_spec();
  const auto args = parse_arguments(spec, "polyphony train",
                                    {"--deterministic",
                                     "--checkpoint-every-steps",
                                     "7",
                                     "--keep-checkpoints",
                                     "2",
                                     "--min-plays",
                                     "3",
                                     "--kcore",
                                     "4,5",
                                     "--no-cache",
                                     "--cache-dir",
                                     (dir.path() / "c").string(),
                                     "-k",
                                     "15",
                                     "--lr-schedule",
                                     "step:3:0.5",
                                     "--warmup-steps",
                                     "9",
                                     "--seed",
                                     "5",
                                     "--split",
                                     "loo:last",
                                     "--set",
                                     "model.dim=12",
                                     "--dim",
                                     "8",
                                     "--on-nonfinite",
                                     "rollback",
                                     "--model",
                                     "uiprotomf",
                                     "--ortho",
                                     "0.1",
                                     "--ortho-item",
                                     "10"});
  const TrainSetup s = read_train_setup(args);
  EXPECT_TRUE(s.deterministic);
  EXPECT_EQ(s.trainer.checkpoints.every_steps, 7);
  EXPECT_EQ(s.trainer.checkpoints.keep_last, 2);
  EXPECT_EQ(s.data.load.read.min_weight, 3.0);
  EXPECT_EQ(s.data.load.filters.min_user_interactions, 4);
  EXPECT_EQ(s.data.load.filters.min_item_interactions, 5);
  EXPECT_TRUE(s.data.load.cache_dir.empty());  // --no-cache wins over --cache-dir
  EXPECT_EQ(s.top_k, 15);
  EXPECT_NE(std::find(s.eval.ks.begin(), s.eval.ks.end(), 15), s.eval.ks.end());
  EXPECT_EQ(s.trainer.schedule.spec(), "step:3:0.5");
  EXPECT_EQ(s.trainer.schedule.warmup_steps, 9);
  EXPECT_EQ(s.data.split.seed, 5u);  // the split is seeded by --seed whatever the order
  EXPECT_EQ(s.data.split.spec(), "loo:last");
  EXPECT_EQ(s.model_options.at("dim"), 12);  // --set model.KEY wins over the model's flag
  EXPECT_EQ(s.trainer.on_nonfinite, NonFinitePolicy::kRollback);
  EXPECT_EQ(s.model_options.at("ortho_weight"), 0.1);
  EXPECT_EQ(s.model_options.at("ortho_item_weight"), 10.0);
  EXPECT_FALSE(s.model_options.contains("ortho_user_weight"));

  const auto json = resolved_config_json(args);
  for (const auto& row : train_option_table()) {
    const std::string section = row.section;
    if (section.empty() || (!row.default_value && row.type != OptionType::kFlag)) continue;
    std::string key = row.name == std::string("model") ? "name" : row.name;
    std::replace(key.begin(), key.end(), '-', '_');
    EXPECT_TRUE(json.at(section).contains(key)) << section << "." << key;
  }
  EXPECT_EQ(json.at("train").at("deterministic"), true);
  EXPECT_EQ(json.at("train").at("checkpoint_every_steps"), 7);
  EXPECT_EQ(json.at("data").at("kcore"), "4,5");

  auto both = train_spec();
  EXPECT_CONTAINS(error_of([&] {
                    read_train_setup(parse_arguments(both, "polyphony train",
                                                     {"--min-rating", "4", "--min-plays", "2"}));
                  }),
                  "`min_rating` and `min_plays` are the same threshold; give one");
  // A number that does not parse names its option (cxxopts alone would not), as the command line
  // shows it.
  for (const auto& [arguments, message] :
       std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"--epochs", "1e9"}, "--epochs '1e9': expected an integer"},
           {{"--lr=fast"}, "--lr 'fast': expected a number"},
           {{"--seed", "-3"}, "--seed '-3': expected a non-negative integer"},
           {{"--threads", "99999999999"}, "--threads '99999999999': expected an integer"}}) {
    auto fresh = train_spec();
    EXPECT_EQ(with_flags(error_of(
                  [&] { read_train_setup(parse_arguments(fresh, "polyphony train", arguments)); })),
              message);
  }
}

TEST(ConfigFile, OptionValuesAreTakenOutInOrder) {
  std::vector<std::string> arguments = {"--set", "a=1,2", "--models", "mf", "--set=b=3", "--json"};
  EXPECT_EQ(take_option_values(arguments, "set"), (std::vector<std::string>{"a=1,2", "b=3"}));
  EXPECT_EQ(arguments, (std::vector<std::string>{"--models", "mf", "--json"}));
  EXPECT_TRUE(take_option_values(arguments, "config").empty());
  std::vector<std::string> dangling = {"--models", "mf", "--config"};
  EXPECT_CONTAINS(error_of([&] { take_option_values(dangling, "config"); }),
                  "--config needs a value");
}

}  // namespace
}  // namespace polyphony::cli
