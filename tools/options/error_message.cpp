#include "tools/options/error_message.h"

#include <regex>

namespace polyphony::cli {

std::string with_flags(const std::string& message) {
  static const std::regex setting("`([a-z][a-z0-9_]*)`");
  std::string out;
  auto from = message.cbegin();
  for (std::sregex_iterator it(message.begin(), message.end(), setting), end; it != end; ++it) {
    const auto& match = *it;
    out.append(from, match[0].first);
    std::string flag = match[1].str();
    for (char& c : flag)
      if (c == '_') c = '-';
    out += "--" + flag;
    from = match[0].second;
  }
  out.append(from, message.cend());
  return out;
}

}  // namespace polyphony::cli
