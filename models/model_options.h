#pragma once
// A model's options are descriptors (common/option.h) declared in the model's own source: the
// registry reads a run's model settings (JSON: --set model.KEY=VALUE, a config's [model] keys)
// through them, config() writes them back through them, and the command line's shortcuts
// (--dim, --ortho, ...) are the descriptors' `flag`s.

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/number_text.h"
#include "common/option.h"

namespace polyphony {

// An option's text as the typed JSON value it stands for (a number, true/false or text).
inline nlohmann::json typed_json(const std::string& text, OptionType type) {
  int64_t integer = 0;
  double real = 0;
  if (type == OptionType::kFlag) return text == "true";
  if (parse_int64(text, integer)) return integer;
  if (parse_double(text, real)) return real;
  return text;
}

// The message of `error`, an option's ("`name` ..."), with the option shown as `shown`.
inline std::string renamed(const Error& error, const std::string& name, const std::string& shown) {
  std::string message = error.what();
  const std::string quoted = "`" + name + "`";
  if (message.rfind(quoted, 0) == 0) message.replace(0, quoted.size(), shown);
  return message;
}

// Every option `owner` holds (unset optional ones left out), as config() reports them.
template <typename Owner>
nlohmann::json options_json(const std::vector<Option<Owner>>& options, const Owner& owner) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& option : options)
    if (const auto text = option.get(owner)) out[option.name] = typed_json(*text, option.type);
  return out;
}

// `settings` of `model` read into `owner` through `options`: an unknown key or a bad value is an
// Error naming the model and the key.
template <typename Owner>
void read_model_settings(const std::vector<Option<Owner>>& options, const nlohmann::json& settings,
                         const std::string& model, Owner& owner) {
  for (const auto& [key, value] : settings.items()) {
    const Option<Owner>* option = find_option(options, key);
    if (!option) {
      std::vector<std::string> names;
      for (const auto& o : options) names.push_back(o.name);
      std::sort(names.begin(), names.end());
      std::string known;
      for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
      fail("model '{}': unknown option '{}' (known: {})", model, key,
           known.empty() ? "none" : known);
    }
    const std::string text = value.is_string() ? value.template get<std::string>() : value.dump();
    try {
      option->set(owner, text);
    } catch (const Error& e) {
      // A model's option is not a command-line flag: 'key', not `key`.
      fail("model '{}': option {}", model, renamed(e, key, "'" + key + "'"));
    }
  }
}

// An initialisation's standard deviation: all-zero embeddings would never leave zero (every
// gradient of a dot product is the other side's embedding), and a negative one is a typo.
inline void check_init_std(double init_std) {
  if (!(init_std > 0)) fail("model option init_std must be positive (got {})", init_std);
}

// A command-line shortcut to model settings: --dim 32 stands for --set model.dim=32.
struct ModelShortcut {
  std::string flag;  // underscored, as the option names (ortho_user for --ortho-user)
  std::string help;
  // The settings `text` stands for; a bad text is an Error naming `flag`.
  std::function<nlohmann::json(const std::string& text)> settings;
};

// The shortcuts of `options` that have a flag: `text` is checked by the option itself.
template <typename Owner>
std::vector<ModelShortcut> shortcuts_of(const std::vector<Option<Owner>>& options) {
  std::vector<ModelShortcut> out;
  for (const auto& option : options) {
    if (option.flag.empty()) continue;
    out.push_back({option.flag, option.help, [option](const std::string& text) {
                     Owner scratch{};
                     try {
                       option.set(scratch, text);
                     } catch (const Error& e) {
                       throw Error(renamed(e, option.name, "`" + option.flag + "`"));
                     }
                     return nlohmann::json{{option.name, typed_json(text, option.type)}};
                   }});
  }
  return out;
}

}  // namespace polyphony
