#include "tools/options/toml_file.h"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <utility>

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
// whether certain non-ASCII characters (U+00A1-U+0499, U+2C6E-U+3067) are whitespace: wherever it
// scans code (keys, values, a value's trailing characters) and after a line-ending backslash in a
// multi-line string. Valid TOML has non-ASCII text only inside strings and comments, where toml++
// reads it safely, so a file is first parsed with each non-ASCII character replaced by '@', which
// is invalid anywhere but in a string or comment: if that copy parses, the characters sit where the
// parser reads them safely. The backslash case is refused from the text itself.
constexpr char kStandIn = '@';

[[noreturn]] void refuse_non_ascii(const std::string& file, int64_t line) {
  fail("{}:{}: a non-ASCII character outside a string or comment (TOML allows it only there)", file,
       line);
}

// The text with each UTF-8 sequence (a lead byte and its continuation bytes, or a stray byte) of
// non-ASCII text as one kStandIn, so that toml++'s columns, which count characters, still match.
// `stand_ins` gets the (line, column) of each.
std::string with_stand_ins(const std::string& text,
                           std::set<std::pair<int64_t, int64_t>>& stand_ins) {
  std::string out;
  int64_t line = 1, column = 1;
  for (size_t i = 0; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte < 0x80) {
      out += text[i];
      if (text[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
      continue;
    }
    while (i + 1 < text.size() && (static_cast<unsigned char>(text[i + 1]) & 0xC0) == 0x80 &&
           byte >= 0xC0)
      ++i;
    out += kStandIn;
    stand_ins.emplace(line, column++);
  }
  return out;
}

// A non-ASCII character first on a line after a line-ending backslash (and blank lines): the
// whitespace toml++ trims there in a multi-line basic string. Anywhere else such a line is not
// valid TOML either (bar a multi-line literal string, where the backslash is text: refused too).
void refuse_after_line_ending_backslash(const std::string& text, const std::string& file) {
  int64_t line = 1;
  bool continued = false;  // after a backslash, spaces and a line end, on blank space so far
  bool backslash = false;  // a backslash followed by spaces only, so far on this line
  for (const char c : text) {
    const bool space = c == ' ' || c == '\t' || c == '\r';
    if (c == '\n') {
      ++line;
      continued = continued || backslash;
      backslash = false;
      continue;
    }
    if (continued && static_cast<unsigned char>(c) >= 0x80)
      fail(
          "{}:{}: a non-ASCII character outside a string or comment, or first on a line "
          "continued by a backslash (toml++ cannot read it there)",
          file, line);
    if (!space) continued = false;
    backslash = c == '\\' || (backslash && space);
  }
}

// The table `text` holds, or an Error at the parser's line and column; one at a stand-in for a
// non-ASCII character (with_stand_ins) says so.
toml::table parse_toml(const std::string& text, const std::string& file,
                       const std::set<std::pair<int64_t, int64_t>>& stand_ins = {}) {
  try {
    return toml::parse(text, file);
  } catch (const toml::parse_error& e) {
    const auto at = e.source().begin;
    if (stand_ins.count({static_cast<int64_t>(at.line), static_cast<int64_t>(at.column)}))
      refuse_non_ascii(file, at.line);
    fail("{}:{}:{}: {}", file, at.line, at.column, e.description());
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
  const std::string original = text.str();
  refuse_after_line_ending_backslash(original, file.string());
  std::set<std::pair<int64_t, int64_t>> stand_ins;
  const std::string ascii = with_stand_ins(original, stand_ins);
  if (!stand_ins.empty()) parse_toml(ascii, file.string(), stand_ins);
  return parse_toml(original, file.string());
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
