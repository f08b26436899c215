#pragma once
// Parsing a command's arguments with cxxopts, whose own words for a mistyped option ("Option
// 'topk' does not exist", "Argument '--k' starts with a - but has incorrect syntax") name
// neither the argument as typed nor the option meant.

#include <cxxopts.hpp>

namespace polyphony::cli {

// spec.parse(argc, argv); an unknown option is an Error naming it as typed, with the closest
// option `spec` has ("unknown option '--topk' (did you mean --top-k? polyphony eval --help
// lists them)").
cxxopts::ParseResult parse_command_line(cxxopts::Options& spec, int argc, char** argv);

}  // namespace polyphony::cli
