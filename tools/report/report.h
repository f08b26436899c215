#pragma once
// Human-readable tables of evaluation results.

#include <cstdint>
#include <string>

#include "engine/eval/evaluator.h"

namespace polyphony::cli {

// The utility, popularity and item-group fairness table of `result` at cut-off `k`.
std::string format_report(const EvaluationResult& result, int64_t k);

}  // namespace polyphony::cli
