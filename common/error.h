#pragma once
// One exception type for errors a user can act on (a bad file, option or value). Its message
// says what went wrong, where (file:line, setting) and why. A setting is written as `name`, its
// key in a config file (`batch_size`); the command line shows the flag instead (--batch-size).
// Programming errors and tensor preconditions use TORCH_CHECK instead.

#include <stdexcept>
#include <string>
#include <utility>

#include <fmt/format.h>

namespace polyphony {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace polyphony
