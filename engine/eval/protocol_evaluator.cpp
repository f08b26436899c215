#include "engine/eval/protocol_evaluator.h"

#include <algorithm>

#include "common/error.h"

namespace polyphony {

ProtocolEvaluator::ProtocolEvaluator(std::optional<int64_t> sampled_negatives,
                                     const UserItemIndex& train, const ItemGroups& groups,
                                     const EvaluatorOptions& options, at::Device device,
                                     const UserGroups& user_groups)
    : train_(train) {
  if (sampled_negatives) {
    // Interactions per chunk within the memory budget: each holds 1 + N scores and N sampled
    // ids (about 32 bytes per cell with temporaries), so sampled:1000000 runs in small chunks
    // instead of asking for 8192 × 10⁶ cells at once.
    const double budget = static_cast<double>(options.eval_memory_mb) * (1 << 20);
    const double per_interaction = 32.0 * (static_cast<double>(*sampled_negatives) + 1);
    const auto chunk = static_cast<int64_t>(std::clamp(budget / per_interaction, 1.0, 8192.0));
    sampled_.emplace(groups, options.ks, *sampled_negatives, device, chunk);
  } else
    full_.emplace(train, groups, options, device, user_groups);
}

EvaluationResult ProtocolEvaluator::evaluate(Recommender& model, const UserItemIndex& exclude,
                                             const UserItemIndex& target, const std::string& split,
                                             bool per_user) const {
  return sampled_ ? sampled_->evaluate(model, train_, target, split, per_user)
                  : full_->evaluate(model, exclude, target, split, per_user);
}

void ProtocolEvaluator::set_collective(Collective* collective) {
  if (full_) full_->set_collective(collective);
}

}  // namespace polyphony
