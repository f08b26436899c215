#pragma once
// Sampled evaluation, as the ProtoMF paper (Melchiorre et al., RecSys 2022) and its official code
// run it: each held-out interaction is ranked against N distinct items drawn uniformly, without
// replacement, from those outside the user's training items and the split's own held-out items
// (the official code's test negatives may include the validation item: ProtocolEvaluator passes
// the training items as `known`). Cheaper than full ranking and not comparable with it: results
// are labelled with the protocol.

#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "engine/data/dataset.h"
#include "engine/data/user_item_index.h"
#include "engine/eval/evaluator.h"

namespace polyphony {

class Recommender;

class SampledEvaluator {
 public:
  // `negatives` items per test interaction; `ks` the cut-offs of HR, NDCG and MRR.
  SampledEvaluator(ItemGroups groups, std::vector<int64_t> ks, int64_t negatives, at::Device device,
                   int64_t chunk_interactions = 8192);

  // Ranks each interaction of `target` against `negatives` distinct items drawn from the items
  // outside `known` ∪ `target` of its user (a user with fewer is an error naming it). Per user,
  // terms are averaged over the user's target interactions, then over users. Item groups: mean
  // rank (0-based, in the sampled list) of each group's target items (AvgRank[g]); with listed
  // values (ItemGroups::values: countries), the candidate rank of the cultural-fairness papers
  // besides (docs/metrics.md, "CandidateRank"). Draws use torch's global generator. With
  // `per_user`, every evaluated user's HR@K, NDCG@K and MRR@K too (for paired tests).
  EvaluationResult evaluate(Recommender& model, const UserItemIndex& known,
                            const UserItemIndex& target, const std::string& split,
                            bool per_user = false) const;

 private:
  ItemGroups groups_;
  std::vector<int64_t> ks_;
  int64_t negatives_;
  at::Device device_;
  int64_t chunk_;
};

}  // namespace polyphony
