#pragma once
// Option values written KIND[:ARGUMENT] or as short lists (synthetic:music-demo, popularity:0.2,
// ratio:0.8,0.1, step:10:0.5, sampled:99, 10,10): one way to cut them and one error form,
// "`name` 'TEXT': expected FORMS" (--name on the command line). The layers that own such options
// parse them with it (engine/data/data_options.h, engine/train/trainer_options.h, ...).

#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"
#include "common/number_text.h"

namespace polyphony {

class OptionText {
 public:
  // `name` the option's name (split), `text` its value, `expected` the accepted forms for errors.
  OptionText(std::string name, std::string text, std::string expected)
      : name_(std::move(name)), text_(std::move(text)), expected_(std::move(expected)) {
    const auto colon = text_.find(':');
    has_argument_ = colon != std::string::npos;
    kind_ = text_.substr(0, colon);
    if (has_argument_) argument_ = text_.substr(colon + 1);
  }

  const std::string& text() const { return text_; }
  // Before the first ':' (the whole text without one), and after it ("" without one).
  const std::string& kind() const { return kind_; }
  const std::string& argument() const { return argument_; }
  bool has_argument() const { return has_argument_; }

  // `text` cut at every `separator`, with `min_count` to `max_count` fields, none empty.
  std::vector<std::string> fields(const std::string& text, char separator, size_t min_count,
                                  size_t max_count) const {
    std::vector<std::string> out;
    for (size_t from = 0;;) {
      const size_t at = text.find(separator, from);
      out.push_back(text.substr(from, at == std::string::npos ? std::string::npos : at - from));
      if (out.back().empty()) reject();
      if (at == std::string::npos) break;
      from = at + 1;
    }
    if (out.size() < min_count || out.size() > max_count) reject();
    return out;
  }

  // A field as a number or an integer, within [low, high] (or (low, …] with `open_low`).
  double real(const std::string& field, double low, double high, bool open_low = false) const {
    double value = 0;
    if (!parse_double(field, value) || value < low || value > high || (open_low && value == low))
      reject();
    return value;
  }
  int64_t integer(const std::string& field, int64_t low, int64_t high) const {
    int64_t value = 0;
    if (!parse_int64(field, value) || value < low || value > high) reject();
    return value;
  }

  // "`name` 'TEXT': expected FORMS", or "`name` 'TEXT': WHY".
  [[noreturn]] void reject() const { fail("`{}` '{}': expected {}", name_, text_, expected_); }
  [[noreturn]] void reject(const std::string& why) const {
    fail("`{}` '{}': {}", name_, text_, why);
  }

 private:
  std::string name_, text_, expected_, kind_, argument_;
  bool has_argument_ = false;
};

}  // namespace polyphony
