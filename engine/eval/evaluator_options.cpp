#include "engine/eval/evaluator_options.h"

#include <limits>
#include <tuple>

#include <fmt/format.h>

#include "common/option_text.h"

namespace polyphony {

std::optional<int64_t> sampled_negatives(const std::string& protocol) {
  const OptionText option("eval_protocol", protocol,
                          "full or sampled:N with N ≥ 1, e.g. sampled:99");
  if (protocol == "full") return std::nullopt;
  if (option.kind() != "sampled" || !option.has_argument()) option.reject();
  return option.integer(option.argument(), 1, std::numeric_limits<int64_t>::max());
}

std::pair<HeadRule, double> parse_head(const std::string& text) {
  const OptionText option("head", text,
                          "interactions:SHARE (the most popular items holding SHARE of the "
                          "training interactions) or items:FRACTION (the most popular FRACTION of "
                          "the items), in (0, 1]");
  if (!option.has_argument() || (option.kind() != "interactions" && option.kind() != "items"))
    option.reject();
  const double share = option.real(option.argument(), 0, 1, /*open_low=*/true);
  return {option.kind() == "items" ? HeadRule::kItemShare : HeadRule::kInteractionShare, share};
}

std::string head_text(HeadRule rule, double share) {
  return fmt::format("{}:{}", rule == HeadRule::kItemShare ? "items" : "interactions", share);
}

const std::vector<Option<EvaluatorOptions>>& evaluator_option_list() {
  using O = OptionsOf<EvaluatorOptions>;
  Option<EvaluatorOptions> head{
      "head",
      "head items of HeadShare and APLT: interactions:S (the most popular items holding share S "
      "of the training interactions) or items:F (the most popular fraction F of the items, e.g. "
      "items:0.2)"};
  const EvaluatorOptions defaults;
  head.default_text = head_text(defaults.head_rule, defaults.head_share);
  head.set = [](EvaluatorOptions& o, const std::string& text) {
    std::tie(o.head_rule, o.head_share) = parse_head(text);
  };
  head.get = [](const EvaluatorOptions& o) -> std::optional<std::string> {
    return head_text(o.head_rule, o.head_share);
  };
  static const std::vector<Option<EvaluatorOptions>> options = {
      head,
      O::field("eval_memory_mb", &EvaluatorOptions::eval_memory_mb,
               "memory budget for one evaluation chunk"),
  };
  return options;
}

}  // namespace polyphony
