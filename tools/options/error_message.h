#pragma once
// The engine names a setting in its messages as `name` (its key in a config file); the command
// line shows the flag the user typed instead.

#include <string>

namespace polyphony::cli {

// `message` with every `setting_name` written as --setting-name.
std::string with_flags(const std::string& message);

}  // namespace polyphony::cli
