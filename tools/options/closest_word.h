#pragma once
// The suggestion of a "did you mean" in errors about misspelt keys, tables and options.

#include <string>
#include <vector>

namespace polyphony::cli {

// The closest of `candidates` to `word` (edit distance at most 2, or a third of its length for
// long words), or "".
std::string closest(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace polyphony::cli
