#include "tools/options/command_line.h"

#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

#include "common/error.h"
#include "tools/options/closest_word.h"

namespace polyphony::cli {
namespace {

struct OptionNames {
  std::vector<std::string> long_names, short_names;
};

OptionNames names_of(const cxxopts::Options& spec) {
  OptionNames names;
  for (const auto& group : spec.groups())
    for (const auto& option : spec.group_help(group).options) {
      if (!option.s.empty()) names.short_names.push_back(option.s);
      names.long_names.insert(names.long_names.end(), option.l.begin(), option.l.end());
    }
  return names;
}

bool known(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// A value such as -1 or -0.5 after an option, not an option.
bool negative_number(const std::string& argument) {
  return argument.size() > 1 &&
         (std::isdigit(static_cast<unsigned char>(argument[1])) || argument[1] == '.');
}

// The first argument that names no option of `spec`, as an error; nothing when each is known.
void refuse_unknown_option(const cxxopts::Options& spec, int argc, char** argv) {
  const OptionNames names = names_of(spec);
  for (int i = 1; i < argc; ++i) {
    const std::string argument = argv[i];
    if (argument == "--") return;  // what follows is positional
    if (argument.size() < 2 || argument[0] != '-' || negative_number(argument)) continue;
    const bool long_form = argument[1] == '-';
    const std::string name =
        long_form ? argument.substr(2, argument.find('=') - 2) : argument.substr(1, 1);
    if (long_form ? known(names.long_names, name) && name.size() > 1
                  : known(names.short_names, name))
      continue;
    std::string suggestion;
    if (name.size() == 1 && known(names.short_names, name))
      suggestion = "-" + name;
    else if (name.size() >= 3)
      if (const auto near = closest(name, names.long_names); !near.empty())
        suggestion = "--" + near;
    const std::string shown = long_form ? "--" + name : "-" + name;
    fail("unknown option '{}' ({}{} --help lists them)", shown,
         suggestion.empty() ? "" : "did you mean " + suggestion + "? ", spec.program());
  }
}

}  // namespace

cxxopts::ParseResult parse_command_line(cxxopts::Options& spec, int argc, char** argv) {
  try {
    return spec.parse(argc, argv);
  } catch (const cxxopts::exceptions::no_such_option&) {
    refuse_unknown_option(spec, argc, argv);
    throw;
  } catch (const cxxopts::exceptions::invalid_option_syntax&) {
    refuse_unknown_option(spec, argc, argv);
    throw;
  }
}

}  // namespace polyphony::cli
