#pragma once
// The evaluator's options (common/option.h) and the parsers of the evaluation texts.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/option.h"
#include "engine/eval/evaluator.h"

namespace polyphony {

// eval_protocol full | sampled:N: N, or nothing for full ranking.
std::optional<int64_t> sampled_negatives(const std::string& protocol);

// head interactions:SHARE | items:FRACTION (both in (0, 1]): the head items of HeadShare and APLT.
std::pair<HeadRule, double> parse_head(const std::string& text);
// The text parse_head reads back.
std::string head_text(HeadRule rule, double share);

// The options of EvaluatorOptions a user sets: head, eval_memory_mb.
const std::vector<Option<EvaluatorOptions>>& evaluator_option_list();

}  // namespace polyphony
