// The engine names settings as `name`; the command line shows its flags instead.

#include <gtest/gtest.h>

#include "tools/options/error_message.h"

namespace polyphony::cli {
namespace {

TEST(ErrorMessage, SettingsBecomeFlags) {
  EXPECT_EQ(with_flags("`batch_size` must be at least 1 (got 0)"),
            "--batch-size must be at least 1 (got 0)");
  EXPECT_EQ(with_flags("lower `lr` and continue with `resume`; or `on_nonfinite` rollback"),
            "lower --lr and continue with --resume; or --on-nonfinite rollback");
  // Only a lower-case name between two backquotes is a setting.
  EXPECT_EQ(with_flags("file `My Data`: 3 `` quotes `x"), "file `My Data`: 3 `` quotes `x");
  EXPECT_EQ(with_flags("no settings here"), "no settings here");
  EXPECT_EQ(with_flags(""), "");
}

}  // namespace
}  // namespace polyphony::cli
