#pragma once
// An option, declared once by the layer that uses it: the trainer declares the trainer's, the
// data layer the data's, each model its own. A declaration is one typed descriptor: the name
// (one name from flag to field: `batch_size` is --batch-size on the command line, batch_size in a
// config file and in config.resolved.*, and the field TrainerOptions::batch_size), the help, the
// check, and the default, which is the owner struct's own default member value (so there is one).
// The command line, config files, resolved configs, help texts and error messages are all
// derived from the descriptors (tools/options/train_options.cpp).
//
// Errors name the option as `name` (common/error.h); the command line shows --name instead.

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "common/error.h"
#include "common/number_text.h"

namespace polyphony {

// How a value is written: one value, a flag (present or not; true/false in a config file), or a
// value that may be given many times.
enum class OptionType { kValue, kFlag, kRepeated };

template <typename Owner>
struct Option {
  Option() = default;
  Option(std::string name, std::string help, OptionType type = OptionType::kValue)
      : name(std::move(name)), help(std::move(help)), type(type) {}

  std::string name;  // underscored; the command line's flag is its dashed form
  std::string help;
  OptionType type = OptionType::kValue;
  // The owner's default as the command line writes it; none: unset unless given.
  std::optional<std::string> default_text;
  // Reads `text`, checks it and stores it in the owner; a bad value is an Error naming `name`.
  std::function<void(Owner&, const std::string&)> set;
  // Checks the value an owner filled in code holds (empty: nothing to check).
  std::function<void(const Owner&)> check;
  // The value an owner holds as text (std::nullopt: unset), as `set` reads it back (empty: an
  // option that is not read back, such as min_rating, which shares its field with min_plays).
  std::function<std::optional<std::string>(const Owner&)> get;
  // A model option's command-line shortcut when it has one (--ortho for ortho_weight); the
  // options of the other layers are all on the command line under their own name.
  std::string flag;
};

// The reason a value is refused ("must be at least 1"), or nothing when it is fine.
template <typename T>
using Rule = std::function<std::optional<std::string>(const T&)>;

template <typename T>
Rule<T> at_least(T low) {
  return [low](const T& value) -> std::optional<std::string> {
    if (value < low) return fmt::format("must be at least {}", low);
    return std::nullopt;
  };
}

template <typename T>
Rule<T> non_negative() {
  return [](const T& value) -> std::optional<std::string> {
    if (!(value >= 0)) return std::string("must be non-negative");
    return std::nullopt;
  };
}

template <typename T>
Rule<T> positive() {
  return [](const T& value) -> std::optional<std::string> {
    if (!(value > 0)) return std::string("must be positive");
    return std::nullopt;
  };
}

// Values of the plain types as options write them.
namespace option_value {

inline bool read(const std::string& text, std::string& value) {
  value = text;
  return true;
}
inline bool read(const std::string& text, std::filesystem::path& value) {
  value = text;
  return true;
}
inline bool read(const std::string& text, int64_t& value) { return parse_int64(text, value); }
inline bool read(const std::string& text, int& value) {
  int64_t wide = 0;
  if (!parse_int64(text, wide) || wide != static_cast<int>(wide)) return false;
  value = static_cast<int>(wide);
  return true;
}
inline bool read(const std::string& text, uint64_t& value) {
  int64_t wide = 0;
  if (!parse_int64(text, wide) || wide < 0) return false;
  value = static_cast<uint64_t>(wide);
  return true;
}
inline bool read(const std::string& text, double& value) { return parse_double(text, value); }
inline bool read(const std::string& text, bool& value) {
  if (text != "true" && text != "false") return false;
  value = text == "true";
  return true;
}

// What a value of type T must look like, for errors.
template <typename T>
const char* expected() {
  if constexpr (std::is_same_v<T, bool>) return "true or false";
  if constexpr (std::is_same_v<T, uint64_t>) return "a non-negative integer";
  if constexpr (std::is_integral_v<T>) return "an integer";
  if constexpr (std::is_floating_point_v<T>) return "a number";
  return "text";
}

template <typename T>
std::string write(const T& value) {
  if constexpr (std::is_same_v<T, std::filesystem::path>) {
    return value.string();
  } else {
    return fmt::format("{}", value);
  }
}

template <typename T>
struct Unwrapped {
  using type = T;
  static constexpr bool optional = false;
};
template <typename T>
struct Unwrapped<std::optional<T>> {
  using type = T;
  static constexpr bool optional = true;
};

}  // namespace option_value

// `name` refuses `value` when `rule` gives a reason.
template <typename T>
void apply_rule(const Rule<T>& rule, const std::string& name, const T& value) {
  if (!rule) return;
  if (const auto why = rule(value))
    fail("`{}` {} (got {})", name, *why, option_value::write(value));
}

// A default-constructed Owner, whose default member values are the options' defaults (static:
// GCC 12 sees an uninitialised std::string in a value-initialised local one).
template <typename Owner>
const Owner& owner_defaults() {
  static Owner defaults;  // static storage: fields without an initialiser are zeros
  return defaults;
}

// The descriptors of an owner's options. `access` reaches the field: a member pointer
// (&TrainerOptions::epochs) or a function returning a reference ([](auto& o) -> auto& { return
// o.optimizer.lr; }).
template <typename Owner>
struct OptionsOf {
  template <typename Access>
  using FieldOf = std::decay_t<std::invoke_result_t<Access, Owner&>>;
  template <typename Access>
  using ValueOf = typename option_value::Unwrapped<FieldOf<Access>>::type;

  // A field of a plain type (text, a path, a number, a flag, or an optional one of them).
  template <typename Access>
  static Option<Owner> field(std::string name, Access access, std::string help,
                             Rule<ValueOf<Access>> rule = {}) {
    using Value = ValueOf<Access>;
    constexpr bool optional = option_value::Unwrapped<FieldOf<Access>>::optional;
    Option<Owner> option{std::move(name), std::move(help)};
    if constexpr (std::is_same_v<Value, bool>) option.type = OptionType::kFlag;
    const auto& fallback = std::invoke(access, owner_defaults<Owner>());
    if constexpr (optional) {
      if (fallback) option.default_text = option_value::write(*fallback);
    } else if (const std::string text = option_value::write(fallback); !text.empty()) {
      option.default_text = text;  // empty text or path: unset
    }
    option.set = [name = option.name, access, rule](Owner& owner, const std::string& text) {
      Value value{};
      if (!option_value::read(text, value))
        fail("`{}` '{}': expected {}", name, text, option_value::expected<Value>());
      apply_rule(rule, name, value);
      std::invoke(access, owner) = value;
    };
    option.get = [access](const Owner& owner) -> std::optional<std::string> {
      const auto& held = std::invoke(access, owner);
      if constexpr (optional) {
        if (!held) return std::nullopt;
        return option_value::write(*held);
      } else {
        return option_value::write(held);
      }
    };
    if (rule)
      option.check = [name = option.name, access, rule](const Owner& owner) {
        const auto& held = std::invoke(access, owner);
        if constexpr (optional) {
          if (held) apply_rule(rule, name, *held);
        } else {
          apply_rule(rule, name, held);
        }
      };
    return option;
  }

  // A field read by `parse` (text → the field's value, an Error naming `name` when bad) and
  // written by `format` (the field's value → text, or std::nullopt: unset, so no default).
  template <typename Access, typename Parse, typename Format>
  static Option<Owner> parsed(std::string name, Access access, std::string help, Parse parse,
                              Format format) {
    Option<Owner> option{std::move(name), std::move(help)};
    option.default_text = format(std::invoke(access, owner_defaults<Owner>()));
    option.set = [access, parse](Owner& owner, const std::string& text) {
      std::invoke(access, owner) = parse(text);
    };
    option.get = [access, format](const Owner& owner) -> std::optional<std::string> {
      return format(std::invoke(access, owner));
    };
    return option;
  }

  // A field that takes one of a few named values.
  template <typename Access>
  static Option<Owner> choice(std::string name, Access access, std::string help,
                              std::vector<std::pair<std::string, FieldOf<Access>>> choices) {
    std::string forms;
    for (size_t k = 0; k < choices.size(); ++k)
      forms += (k == 0 ? "" : k + 1 == choices.size() ? " or " : ", ") + choices[k].first;
    const auto parse = [name, choices, forms](const std::string& text) {
      for (const auto& [word, value] : choices)
        if (word == text) return value;
      fail("`{}` '{}': expected {}", name, text, forms);
    };
    const auto format = [choices](const FieldOf<Access>& value) -> std::optional<std::string> {
      for (const auto& [word, named] : choices)
        if (named == value) return word;
      return std::nullopt;
    };
    auto option = parsed(std::move(name), access, std::move(help), parse, format);
    option.check = [name = option.name, access, format, forms](const Owner& owner) {
      const auto& held = std::invoke(access, owner);
      if (format(held)) return;
      if constexpr (std::is_same_v<FieldOf<Access>, std::string>)
        fail("`{}` '{}': expected {}", name, held, forms);
      else
        fail("`{}`: expected {}", name, forms);
    };
    return option;
  }
};

// `option` with a command-line shortcut (Option::flag: a model option's, such as --ortho).
template <typename Owner>
Option<Owner> with_flag(Option<Owner> option, std::string flag) {
  option.flag = std::move(flag);
  return option;
}

// `options` of a part of Root (Root::trainer, say), reached through `access`.
template <typename Root, typename Part, typename Access>
std::vector<Option<Root>> mount(const std::vector<Option<Part>>& options, Access access) {
  std::vector<Option<Root>> out;
  for (const auto& part : options) {
    Option<Root> option(part.name, part.help, part.type);
    option.default_text = part.default_text;
    option.flag = part.flag;
    option.set = [set = part.set, access](Root& root, const std::string& text) {
      set(std::invoke(access, root), text);
    };
    if (part.check)
      option.check = [check = part.check, access](const Root& root) {
        check(std::invoke(access, root));
      };
    if (part.get)
      option.get = [get = part.get, access](const Root& root) {
        return get(std::invoke(access, root));
      };
    out.push_back(std::move(option));
  }
  return out;
}

// Every check of `options` on `owner` (an owner filled in code, not from text).
template <typename Owner>
void check_options(const std::vector<Option<Owner>>& options, const Owner& owner) {
  for (const auto& option : options)
    if (option.check) option.check(owner);
}

// The option called `name`, or nullptr.
template <typename Owner>
const Option<Owner>* find_option(const std::vector<Option<Owner>>& options,
                                 const std::string& name) {
  for (const auto& option : options)
    if (option.name == name) return &option;
  return nullptr;
}

}  // namespace polyphony
