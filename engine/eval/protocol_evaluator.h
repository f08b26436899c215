#pragma once
// The evaluation a run chose, behind one call: full ranking (Evaluator) or ranking against N
// sampled negatives per test interaction (SampledEvaluator). Used alike by training's
// validation, the final test and `polyphony eval`.

#include <optional>
#include <string>

#include "engine/eval/evaluator.h"
#include "engine/eval/sampled_evaluator.h"

namespace polyphony {

class ProtocolEvaluator {
 public:
  // `sampled_negatives`: N for the sampled protocol, none for full ranking. The sampled protocol
  // uses the item groups and the options' cut-offs; the rest serves full ranking.
  ProtocolEvaluator(std::optional<int64_t> sampled_negatives, const UserItemIndex& train,
                    const ItemGroups& groups, const EvaluatorOptions& options, at::Device device,
                    const UserGroups& user_groups);

  // Full ranking masks `exclude`; the sampled protocol draws its negatives from outside the
  // training items and `target` (the official ProtoMF protocol: a test row's negatives may include
  // the user's validation item). `per_user`: each evaluated user's metrics too (full ranking:
  // NDCG@K and Recall@K; sampled: HR@K, NDCG@K and MRR@K).
  EvaluationResult evaluate(Recommender& model, const UserItemIndex& exclude,
                            const UserItemIndex& target, const std::string& split,
                            bool per_user = false) const;

  // Full ranking is shared among the processes of a data-parallel group
  // (Evaluator::set_collective); sampled evaluation runs whole in every process.
  void set_collective(Collective* collective);

 private:
  std::optional<Evaluator> full_;
  std::optional<SampledEvaluator> sampled_;
  UserItemIndex train_;  // the sampled protocol's known items
};

}  // namespace polyphony
