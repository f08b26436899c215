// Options written KIND[:ARGUMENT]: one cutter, one error form naming the option and its value,
// and the typed options the engine takes.

#include <utility>

#include <fmt/format.h>

#include "common/option_text.h"
#include "engine/data/data_options.h"
#include "engine/eval/evaluator_options.h"
#include "engine/train/optimization.h"
#include "models/registry.h"
#include "tests/test_support.h"
#include "tools/options/error_message.h"

namespace polyphony::cli {
namespace {

using testing::error_of;

// The message as the command line shows it (--name for `name`).
template <typename F>
std::string flag_error_of(F&& f) {
  return with_flags(error_of(std::forward<F>(f)));
}

TEST(OptionText, CutsKindArgumentAndFields) {
  const OptionText spec("x", "step:10:0.5", "FORMS");
  EXPECT_EQ(spec.kind(), "step");
  EXPECT_TRUE(spec.has_argument());
  EXPECT_EQ(spec.argument(), "10:0.5");
  EXPECT_EQ(spec.fields(spec.argument(), ':', 2, 2), (std::vector<std::string>{"10", "0.5"}));
  EXPECT_EQ(spec.integer("10", 1, 10), 10);
  EXPECT_EQ(spec.real("0.5", 0, 1, /*open_low=*/true), 0.5);
  const OptionText bare("x", "files", "FORMS");
  EXPECT_EQ(bare.kind(), "files");
  EXPECT_FALSE(bare.has_argument());
  EXPECT_EQ(bare.argument(), "");
  // Every failure is the same message: the option, its value, what it accepts.
  const std::string expected = "`x` 'step:10:0.5': expected FORMS";
  EXPECT_EQ(error_of([&] { spec.fields("10:0.5", ':', 3, 3); }), expected);
  EXPECT_EQ(error_of([&] { spec.fields("10::0.5", ':', 1, 3); }), expected);  // an empty field
  EXPECT_EQ(error_of([&] { spec.integer("11", 1, 10); }), expected);
  EXPECT_EQ(error_of([&] { spec.integer("1.5", 1, 10); }), expected);
  EXPECT_EQ(error_of([&] { spec.real("0", 0, 1, /*open_low=*/true); }), expected);
  EXPECT_EQ(error_of([&] { spec.real("x", 0, 1); }), expected);
  EXPECT_EQ(with_flags(expected), "--x 'step:10:0.5': expected FORMS");  // on the command line
}

TEST(OptionText, SplitsParseIntoTypedOptions) {
  const auto ratio = parse_split("ratio:0.7,0.2");
  EXPECT_EQ(ratio.kind, SplitOptions::Kind::ratio);
  EXPECT_EQ(ratio.train, 0.7);
  EXPECT_EQ(ratio.valid, 0.2);
  EXPECT_EQ(parse_split("temporal:0.9").valid, 0);
  EXPECT_EQ(parse_split("temporal:0.9").kind, SplitOptions::Kind::temporal);
  EXPECT_FALSE(parse_split("loo:random").latest);
  EXPECT_EQ(parse_split("files").kind, SplitOptions::Kind::predefined);
  for (const char* spec : {"loo:last", "ratio:0.8,0.1", "files"})
    EXPECT_EQ(parse_split(spec).spec(), spec);
  for (const char* bad : {"ratio:0.8,x", "ratio", "ratio:", "loo:first", "random",
                          "temporal:", "ratio:0.8,0.1,0.1", "files:x"})
    EXPECT_CONTAINS(flag_error_of([&] { parse_split(bad); }),
                    fmt::format("--split '{}': expected", bad));
}

TEST(OptionText, SamplersParseAndBadOnesAreErrors) {
  EXPECT_FALSE(parse_sampler("uniform").popularity_exponent.has_value());
  EXPECT_EQ(parse_sampler("popularity").popularity_exponent.value(), 0.75);
  EXPECT_EQ(parse_sampler("popularity:1.5").spec(), "popularity:1.5");
  EXPECT_EQ(parse_sampler("popularity:0").popularity_exponent.value(), 0);
  for (const char* bad : {"zipf", "popularity:", "popularity:-1", "popularity:x", "uniform:2"})
    EXPECT_CONTAINS(flag_error_of([&] { parse_sampler(bad); }),
                    fmt::format("--sampler '{}': expected", bad));
}

TEST(OptionText, SchedulesParseAndBadOnesNameTheOption) {
  EXPECT_EQ(parse_schedule("constant").kind, ScheduleKind::kConstant);
  EXPECT_EQ(parse_schedule("cosine").kind, ScheduleKind::kCosine);
  const auto step = parse_schedule("step:3:0.25");
  EXPECT_EQ(step.kind, ScheduleKind::kStep);
  EXPECT_EQ(step.step_epochs, 3);
  EXPECT_EQ(step.gamma, 0.25);
  for (const char* bad : {"linear", "step:0:0.5", "step:2", "step:2:-1", "step:2:0", "step:x:0.5"})
    EXPECT_CONTAINS(flag_error_of([&] { parse_schedule(bad); }),
                    fmt::format("--lr-schedule '{}': expected", bad));
}

TEST(OptionText, ProtocolsCoresAndKFilters) {
  EXPECT_FALSE(sampled_negatives("full").has_value());
  EXPECT_EQ(sampled_negatives("sampled:99").value(), 99);
  for (const char* bad : {"sampled", "sampled:0", "sampled:x", "loo"})
    EXPECT_CONTAINS(flag_error_of([&] { sampled_negatives(bad); }), "--eval-protocol '");
  const auto both = parse_kcore("10,5");
  EXPECT_EQ(both.min_user_interactions, 10);
  EXPECT_EQ(both.min_item_interactions, 5);
  EXPECT_TRUE(both.iterate);
  EXPECT_EQ(parse_kcore("7").min_item_interactions, 7);  // one number: both sides
  for (const char* bad : {"five", "0,3", "3,", "1,2,3"})
    EXPECT_CONTAINS(flag_error_of([&] { parse_kcore(bad); }), fmt::format("--kcore '{}'", bad));
  const auto k_filter = [](const std::string& text) {
    for (const auto& shortcut : model_shortcuts())
      if (shortcut.flag == "k_filter") return shortcut.settings(text);
    ADD_FAILURE() << "no --k-filter";
    return nlohmann::json();
  };
  EXPECT_EQ(k_filter("16,12"), (nlohmann::json{{"k_user", 16}, {"k_item", 12}}));
  EXPECT_EQ(k_filter("-1"), (nlohmann::json{{"k_user", -1}, {"k_item", -1}}));
  EXPECT_CONTAINS(flag_error_of([&] { k_filter("x"); }), "--k-filter 'x': expected KU[,KT]");
}

TEST(OptionText, DatasetsSplitIntoKindAndArgument) {
  const auto file = parse_dataset("movielens:ml-1m/ratings.dat");
  EXPECT_EQ(file.kind, "movielens");
  EXPECT_EQ(file.argument, "ml-1m/ratings.dat");
  EXPECT_EQ(file.spec(), "movielens:ml-1m/ratings.dat");
  EXPECT_EQ(parse_dataset("csv:C:/data/x.csv").argument, "C:/data/x.csv");  // first ':' only
  const auto synthetic = parse_dataset("synthetic:music-small,users=90");
  EXPECT_EQ(synthetic.synthetic.users, 90);
  EXPECT_EQ(synthetic.synthetic.items, synthetic_preset("music-small").items);
  for (const char* bad : {"ratings.dat", "movielens:", ":x"})
    EXPECT_CONTAINS(flag_error_of([&] { parse_dataset(bad); }),
                    fmt::format("--dataset '{}': expected KIND:ARGUMENT", bad));
  EXPECT_EQ(flag_error_of([] { parse_dataset("synthetic:users=9,colour=blue"); }),
            "--dataset 'synthetic:users=9,colour=blue': unknown key 'colour' (known: users, items, "
            "interactions, min_items, zipf, communities, affinity, majority_share, "
            "majority_boost, unknown_share, seed)");
  EXPECT_EQ(flag_error_of([] { parse_dataset("synthetic:users=5,music-small"); }),
            "--dataset 'synthetic:users=5,music-small': expected KEY=VALUE, found 'music-small'");
  for (const char* bad : {"synthetic:users=", "synthetic:users=1.5", "synthetic:zipf=x",
                          "synthetic:music-demo,", "synthetic:seed=-1"})
    EXPECT_CONTAINS(flag_error_of([&] { parse_dataset(bad); }),
                    fmt::format("--dataset '{}': expected synthetic:PRESET", bad));
}

TEST(OptionText, CsvColumnsAndDelimiters) {
  const auto c = parse_columns("user=listener,item=artist,time=ts");
  EXPECT_EQ(c.user, "listener");
  EXPECT_EQ(c.item, "artist");
  EXPECT_EQ(c.weight, "");
  EXPECT_EQ(c.timestamp, "ts");
  EXPECT_EQ(parse_columns("weight=plays").user, "user");  // the other roles keep their names
  for (const char* bad : {"listener", "user=", "user=a,,item=b", "user=a=b"})
    EXPECT_CONTAINS(flag_error_of([&] { parse_columns(bad); }),
                    fmt::format("--columns '{}': expected ROLE=NAME", bad));
  EXPECT_EQ(flag_error_of([] { parse_columns("rating=r"); }),
            "--columns 'rating=r': unknown role 'rating' (user, item, weight, timestamp)");
  EXPECT_EQ(parse_delimiter("tab"), '\t');
  EXPECT_EQ(parse_delimiter(";"), ';');
  EXPECT_EQ(flag_error_of([] { parse_delimiter("::"); }),
            "--delimiter '::': expected one character, or tab");
}

TEST(OptionText, HeadDefinitions) {
  EXPECT_EQ(parse_head("interactions:0.5"),
            (std::pair<HeadRule, double>{HeadRule::kInteractionShare, 0.5}));
  EXPECT_EQ(parse_head("items:0.2"), (std::pair<HeadRule, double>{HeadRule::kItemShare, 0.2}));
  EXPECT_EQ(parse_head("items:1").second, 1.0);
  for (const char* bad : {"items", "items:0", "items:1.5", "top:0.2", "interactions:x"})
    EXPECT_CONTAINS(flag_error_of([&] { parse_head(bad); }),
                    fmt::format("--head '{}': expected", bad));
}

TEST(OptionText, ItemGroupsParseAndPrintBack) {
  using Kind = ItemGroupOptions::Kind;
  EXPECT_EQ(parse_item_groups("auto").kind, Kind::automatic);
  EXPECT_EQ(parse_item_groups("none").kind, Kind::none);
  EXPECT_EQ(parse_item_groups("builtin").kind, Kind::builtin);
  EXPECT_EQ(parse_item_groups("popularity:0.2").head_share, 0.2);
  const auto sided = parse_item_groups("attribute:country=US,GB/IS");
  EXPECT_EQ(sided.kind, Kind::attribute);
  EXPECT_EQ(sided.column, "country");
  EXPECT_EQ(sided.over, (std::vector<std::string>{"US", "GB"}));
  EXPECT_EQ(sided.under, (std::vector<std::string>{"IS"}));
  for (const char* spec : {"auto", "none", "builtin", "popularity:0.2", "attribute:country=US",
                           "attribute:country=US,GB/IS,JP"})
    EXPECT_EQ(parse_item_groups(spec).spec(), spec);
  for (const char* bad : {"popular", "popularity", "popularity:x", "attribute:country",
                          "attribute:=US", "attribute:country=", "attribute:country=US//GB",
                          "attribute:country=US/GB/IS", "attribute:country=US,,GB"})
    EXPECT_CONTAINS(flag_error_of([&] { parse_item_groups(bad); }),
                    fmt::format("--item-groups '{}': expected", bad));
}

TEST(OptionText, UserGroupsParseAndPrintBack) {
  using Kind = UserGroupOptions::Kind;
  EXPECT_EQ(parse_user_groups("none").kind, Kind::none);
  const auto activity = parse_user_groups("activity:4");
  EXPECT_EQ(activity.kind, Kind::activity);
  EXPECT_EQ(activity.quantiles, 4);
  EXPECT_EQ(parse_user_groups("diversity:3").kind, Kind::diversity);
  const auto ages = parse_user_groups("attribute:age@18,35.5");
  EXPECT_EQ(ages.column, "age");
  EXPECT_EQ(ages.cuts, (std::vector<double>{18, 35.5}));
  EXPECT_TRUE(parse_user_groups("attribute:country").cuts.empty());
  for (const char* spec :
       {"none", "activity:4", "diversity:3", "attribute:country", "attribute:age@18,35.5"})
    EXPECT_EQ(parse_user_groups(spec).spec(), spec);
  for (const char* bad :
       {"activity", "activity:0", "activity:x", "diversity:-2", "attribute:", "attribute:@18",
        "attribute:age@", "attribute:age@x", "attribute:age@nan", "gender"})
    EXPECT_CONTAINS(flag_error_of([&] { parse_user_groups(bad); }),
                    fmt::format("--user-groups '{}': expected", bad));
}

}  // namespace
}  // namespace polyphony::cli
