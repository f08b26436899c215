#pragma once
// Strict numbers from text: the whole text must be the number, no spaces, no trailing text (a
// leading '+' is allowed). Shared by the file readers and the option parsers.

#include <charconv>
#include <cmath>
#include <cstdint>
#include <string_view>
#include <system_error>

namespace polyphony {

inline bool parse_int64(std::string_view text, int64_t& value) {
  if (text.empty()) return false;
  const char* first = text.data();
  if (*first == '+') ++first;  // from_chars rejects a leading '+'
  const auto [end, ec] = std::from_chars(first, text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size();
}

// Finite values only: "inf" and "nan" are not numbers a setting or a field can hold.
inline bool parse_double(std::string_view text, double& value) {
  if (text.empty()) return false;
  const char* first = text.data();
  if (*first == '+') ++first;
  const auto [end, ec] = std::from_chars(first, text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size() && std::isfinite(value);
}

}  // namespace polyphony
