#include "tools/toml_file.h"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/error.h"

namespace polyphony::cli {
namespace {

// A number, text or boolean as command-line text; `where` names it in errors.
std::string scalar_text(const toml::node& node, const std::string& where) {
  if (const auto* s = node.as_string()) return s->get();
  if (const auto* i = node.as_integer()) return std::to_string(i->get());
  if (const auto* f = node.as_floating_point()) return fmt::format("{}", f->get());
  if (const auto* b = node.as_boolean()) return b->get() ? "true" : "false";
  fail("{}: expected a string, number, boolean or array", where);
}

// toml++ 3.3.0 (Debian bookworm) reaches __builtin_unreachable (undefined behaviour) when it asks
// whether certain non-ASCII characters (U+00A1-U+0499, U+2C6E-U+3067) are whitespace, which it
// does outside strings and comments and after a line-ending backslash in a multi-line string.
// Neither place admits non-ASCII text in valid TOML, so such a file is refused before parsing.
void refuse_what_the_parser_cannot_read(const std::string& text, const std::string& file) {
  enum class In { kCode, kComment, kBasic, kLiteral, kMultiBasic, kMultiLiteral };
  In in = In::kCode;
  int64_t line = 1;
  bool continued = false;  // in a multi-line basic string, after a line-ending backslash
  // The last character outside strings and comments, bar spaces: a quote opens a string only
  // where a key or a value may start; elsewhere it is part of a bare (invalid) token.
  char last = '\n';
  const auto refuse = [&] {
    fail("{}:{}: a non-ASCII character outside a string or comment (TOML allows it only there)",
         file, line);
  };
  // The length of the run of `quote` at `at`, at most 5 (a closing delimiter and two quotes).
  const auto run = [&](size_t at, char quote) {
    size_t n = 0;
    while (at + n < text.size() && text[at + n] == quote && n < 5) ++n;
    return n;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const bool ascii = static_cast<unsigned char>(c) < 0x80;
    if (c == '\n') ++line;
    switch (in) {
      case In::kCode:
        if (!ascii) refuse();
        if (c == '#') {
          in = In::kComment;
        } else if ((c == '"' || c == '\'') && last != '\0' && std::strchr("=[,{.\n", last)) {
          const bool multi = run(i, c) >= 3;
          in = c == '"' ? (multi ? In::kMultiBasic : In::kBasic)
                        : (multi ? In::kMultiLiteral : In::kLiteral);
          if (multi) i += 2;
        }
        if (c != ' ' && c != '\t' && c != '\r') last = c;
        break;
      case In::kComment:
        if (c == '\n') {
          in = In::kCode;
          last = c;
        }
        break;
      case In::kBasic:
        if (c == '\\' && i + 1 < text.size() && text[i + 1] != '\n') {
          ++i;
        } else if (c == '"' || c == '\n') {
          in = In::kCode;
          last = c;
        }
        break;
      case In::kLiteral:
        if (c == '\'' || c == '\n') {
          in = In::kCode;
          last = c;
        }
        break;
      case In::kMultiBasic:
        if (continued && (c == ' ' || c == '\t' || c == '\n' || c == '\r')) break;
        if (continued && !ascii) refuse();
        continued = false;
        if (c == '\\') {
          size_t next = i + 1;
          while (next < text.size() && (text[next] == ' ' || text[next] == '\t')) ++next;
          if (next < text.size() && (text[next] == '\n' || text[next] == '\r')) {
            continued = true;
          } else {
            ++i;  // an escaped character, perhaps a quote
          }
        } else if (const size_t n = run(i, '"'); n >= 3) {
          in = In::kCode;
          i += n - 1;
        }
        break;
      case In::kMultiLiteral:
        if (const size_t n = run(i, '\''); n >= 3) {
          in = In::kCode;
          i += n - 1;
        }
        break;
    }
  }
}

}  // namespace

toml::table read_toml_file(const std::filesystem::path& file, const std::string& option) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec))
    fail("{} {}: {}", option, file.string(),
         std::filesystem::exists(file, ec) ? "not a file (expected a TOML file)" : "no such file");
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  if (!(text << in.rdbuf()) && in.bad())
    fail("{} {}: cannot read it: {}", option, file.string(), std::strerror(errno));
  refuse_what_the_parser_cannot_read(text.str(), file.string());
  try {
    return toml::parse(text.str(), file.string());
  } catch (const toml::parse_error& e) {
    fail("{}:{}:{}: {}", file.string(), e.source().begin.line, e.source().begin.column,
         e.description());
  }
}

std::string toml_value_text(const toml::node& node, const std::string& where) {
  const auto* array = node.as_array();
  if (!array) return scalar_text(node, where);
  // kcore = [10, 10] -> "10,10", as --kcore takes it.
  std::vector<std::string> parts;
  for (const auto& element : *array) {
    if (!element.is_integer() && !element.is_floating_point() && !element.is_string())
      fail("{}: arrays may hold numbers or strings only", where);
    parts.push_back(scalar_text(element, where));
  }
  return fmt::format("{}", fmt::join(parts, ","));
}

}  // namespace polyphony::cli
