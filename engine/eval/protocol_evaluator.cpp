#include "engine/eval/protocol_evaluator.h"

namespace polyphony {

ProtocolEvaluator::ProtocolEvaluator(std::optional<int64_t> sampled_negatives,
                                     const UserItemIndex& train, const ItemGroups& groups,
                                     const EvaluatorOptions& options, at::Device device,
                                     const UserGroups& user_groups) {
  if (sampled_negatives)
    sampled_.emplace(groups, options.ks, *sampled_negatives, device);
  else
    full_.emplace(train, groups, options, device, user_groups);
}

EvaluationResult ProtocolEvaluator::evaluate(Recommender& model, const UserItemIndex& exclude,
                                             const UserItemIndex& target,
                                             const std::string& split) const {
  return sampled_ ? sampled_->evaluate(model, exclude, target, split)
                  : full_->evaluate(model, exclude, target, split);
}

void ProtocolEvaluator::set_collective(Collective* collective) {
  if (full_) full_->set_collective(collective);
}

}  // namespace polyphony
