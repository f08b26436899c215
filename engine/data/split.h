#pragma once
// Train/validation/test splits of a dataset's interactions. Every split assigns each interaction
// to exactly one part; a user never ends up with held-out data but no training data.

#include <cstdint>
#include <string>

#include <ATen/core/Tensor.h>

#include "engine/data/dataset.h"

namespace polyphony {

struct Split {
  Interactions train;
  Interactions valid;
  Interactions test;
  /// Part of every interaction of the dataset: 0 train, 1 valid, 2 test, 3 dropped (uint8 [n]).
  at::Tensor part;
  /// Held-out interactions dropped because their user has no training data (temporal cut).
  int64_t dropped = 0;
  /// A hash of `part`, saved with the run so a later command can check it rebuilt the same split.
  uint64_t fingerprint = 0;
};

struct SplitOptions {
  enum class Kind { ratio, leave_one_out, temporal, predefined };
  Kind kind = Kind::ratio;
  /// ratio: share of each user's interactions for training; temporal: share of all, by time.
  double train = 0.8;
  /// ratio / temporal: share for validation; the rest is test. predefined: the share of each
  /// user's training interactions carved out as validation (0: the files' own parts alone).
  double valid = 0.1;
  /// leave-one-out: hold out the latest interactions (by timestamp) rather than random ones.
  bool latest = true;
  /// Seed of the random choices.
  uint64_t seed = 42;

  // The spec this parses from, e.g. "ratio:0.8,0.1".
  std::string spec() const;
};

// Splits `dataset` as `options` say; errors name the user that would be left without training
// data and the option or file responsible.
Split make_split(const Dataset& dataset, const SplitOptions& options);

}  // namespace polyphony
