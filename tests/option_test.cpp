// Options as descriptors (common/option.h): a default is the owner's own, a value is read, checked
// and named in one place, and the layers' lists are what the command line, config files and
// config() are made of.

#include <optional>
#include <string>

#include "common/option.h"
#include "engine/data/data_options.h"
#include "engine/train/trainer_options.h"
#include "models/protomf.h"
#include "models/registry.h"
#include "tests/test_support.h"
#include "tools/options/train_options.h"

namespace polyphony {
namespace {

using testing::error_of;

enum class Shade { kLight, kDark };

struct Palette {
  int64_t colours = 7;
  std::optional<double> contrast;
  std::string label;
  bool glossy = false;
  Shade shade = Shade::kDark;
  struct {
    double gamma = 2.2;
  } display;
};

std::vector<Option<Palette>> palette_options() {
  using O = OptionsOf<Palette>;
  return {
      O::field("colours", &Palette::colours, "colours", at_least<int64_t>(1)),
      O::field("contrast", &Palette::contrast, "contrast", positive<double>()),
      O::field("label", &Palette::label, "label"),
      O::field("glossy", &Palette::glossy, "glossy"),
      O::choice("shade", &Palette::shade, "shade",
                {{"light", Shade::kLight}, {"dark", Shade::kDark}}),
      O::field(
          "gamma", [](auto& p) -> auto& { return p.display.gamma; }, "gamma", positive<double>()),
  };
}

TEST(Option, DefaultsAreTheOwnersOwnFieldValues) {
  const auto options = palette_options();
  EXPECT_EQ(find_option(options, "colours")->default_text, "7");
  EXPECT_FALSE(find_option(options, "contrast")->default_text) << "an unset optional: none";
  EXPECT_FALSE(find_option(options, "label")->default_text) << "empty text: none";
  EXPECT_EQ(find_option(options, "glossy")->default_text, "false");
  EXPECT_EQ(find_option(options, "glossy")->type, OptionType::kFlag);
  EXPECT_EQ(find_option(options, "shade")->default_text, "dark");
  EXPECT_EQ(find_option(options, "gamma")->default_text, "2.2");
  EXPECT_EQ(find_option(options, "missing"), nullptr);
}

TEST(Option, ValuesAreReadCheckedAndNamedInOnePlace) {
  const auto options = palette_options();
  Palette p;
  find_option(options, "colours")->set(p, "12");
  find_option(options, "contrast")->set(p, "0.5");
  find_option(options, "glossy")->set(p, "true");
  find_option(options, "shade")->set(p, "light");
  find_option(options, "gamma")->set(p, "1.8");
  EXPECT_EQ(p.colours, 12);
  EXPECT_EQ(p.contrast, 0.5);
  EXPECT_TRUE(p.glossy);
  EXPECT_EQ(p.shade, Shade::kLight);
  EXPECT_EQ(p.display.gamma, 1.8);
  EXPECT_EQ(find_option(options, "contrast")->get(p), "0.5");
  EXPECT_EQ(find_option(options, "contrast")->get(Palette{}), std::nullopt);
  EXPECT_EQ(find_option(options, "shade")->get(p), "light");
  // Text that is not a value, a value the rule refuses, a name not among the choices.
  EXPECT_EQ(error_of([&] { find_option(options, "colours")->set(p, "1e9"); }),
            "`colours` '1e9': expected an integer");
  EXPECT_EQ(error_of([&] { find_option(options, "colours")->set(p, "0"); }),
            "`colours` must be at least 1 (got 0)");
  EXPECT_EQ(error_of([&] { find_option(options, "gamma")->set(p, "nan"); }),
            "`gamma` 'nan': expected a number");
  EXPECT_EQ(error_of([&] { find_option(options, "glossy")->set(p, "yes"); }),
            "`glossy` 'yes': expected true or false");
  EXPECT_EQ(error_of([&] { find_option(options, "shade")->set(p, "grey"); }),
            "`shade` 'grey': expected light or dark");
  EXPECT_EQ(p.colours, 12) << "a refused value leaves the field as it was";
  // An owner filled in code meets the same rules, with the same message.
  Palette coded;
  coded.colours = 0;
  EXPECT_EQ(error_of([&] { check_options(options, coded); }),
            "`colours` must be at least 1 (got 0)");
  coded.colours = 3;
  coded.contrast = -1.0;
  EXPECT_EQ(error_of([&] { check_options(options, coded); }),
            "`contrast` must be positive (got -1)");
  coded.contrast.reset();
  EXPECT_NO_THROW(check_options(options, coded));
}

TEST(Option, MountedOptionsReachTheirPart) {
  struct Studio {
    Palette palette;
  };
  const auto options = mount<Studio>(palette_options(), &Studio::palette);
  Studio s;
  find_option(options, "colours")->set(s, "3");
  EXPECT_EQ(s.palette.colours, 3);
  EXPECT_EQ(find_option(options, "colours")->default_text, "7");
  s.palette.display.gamma = 0;
  EXPECT_EQ(error_of([&] { check_options(options, s); }), "`gamma` must be positive (got 0)");
}

// The trainer's checks are its descriptors' rules: a trainer built in code and one read from the
// command line are refused alike.
TEST(Option, TheTrainerChecksWhatItDeclares) {
  TrainerOptions o;
  EXPECT_NO_THROW(check_trainer_options(o));
  for (const auto& option : trainer_option_list()) {
    EXPECT_TRUE(option.default_text.has_value()) << option.name << " has no default";
    TrainerOptions read;
    option.set(read, *option.default_text);  // each default reads back
    EXPECT_EQ(option.get(read), option.default_text) << option.name;
  }
  o.batch_size = 0;
  EXPECT_EQ(error_of([&] { check_trainer_options(o); }), "`batch_size` must be at least 1 (got 0)");
}

// Every option with a default reads that default back as it prints it, in every layer.
TEST(Option, EveryDefaultOfTheCommandLineReadsBack) {
  for (const auto& row : cli::train_option_table()) {
    if (!row.set || !row.default_value) continue;
    cli::TrainSetup setup;
    setup.model_options = nlohmann::json::object();
    EXPECT_NO_THROW(row.set(setup, *row.default_value)) << row.name;
  }
}

// A model's options: config() is what its descriptors read, so it builds the same model again;
// the per-side regulariser weights are one line each (the descriptor with its flag).
TEST(Option, ModelConfigIsWhatItsDescriptorsRead) {
  ProtoMFOptions o;
  o.ortho_user_weight = 0.5;
  const auto json = options_json(protomf_option_list(), o);
  EXPECT_EQ(json.at("ortho_user_weight"), 0.5);
  EXPECT_FALSE(json.contains("ortho_item_weight")) << "unset: left out, as before";
  EXPECT_EQ(json.at("ortho_form"), "default");
  ProtoMFOptions back;
  read_model_settings(protomf_option_list(), json, "uiprotomf", back);
  EXPECT_EQ(options_json(protomf_option_list(), back), json);
  std::vector<std::string> flags;
  for (const auto& shortcut : model_shortcuts()) flags.push_back(shortcut.flag);
  EXPECT_EQ(flags, (std::vector<std::string>{"dim", "k_filter", "ortho", "ortho_user", "ortho_item",
                                             "resn"}));
  for (const auto& shortcut : model_shortcuts())
    if (shortcut.flag == "ortho_user") {
      EXPECT_EQ(shortcut.settings("0.1"), (nlohmann::json{{"ortho_user_weight", 0.1}}));
      EXPECT_EQ(error_of([&] { shortcut.settings("high"); }),
                "`ortho_user` 'high': expected a number");
    }
  EXPECT_EQ(
      error_of([&] {
        read_model_settings(protomf_option_list(), nlohmann::json{{"dims", 3}}, "uiprotomf", back);
      }).substr(0, 42),
      "model 'uiprotomf': unknown option 'dims' (");
}

}  // namespace
}  // namespace polyphony
