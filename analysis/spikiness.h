#pragma once
// The spikiness measure Spk of an embedding (Afchar et al., RecSys 2023, §4): how few narrow
// "spikes" (cones of nearly parallel rows) cover half of the rows. Lower means spikier.

#include <cstdint>

#include <ATen/core/Tensor.h>

namespace polyphony {

struct SpikinessOptions {
  /// Leading dimensions used, f in Spk@f.
  int64_t dims = 64;
  /// A row joins a spike when its cosine with the spike's first row exceeds this.
  double cosine = 0.9;
  /// Spikes are opened until more than this share of the rows is covered.
  double coverage = 0.5;
  /// Rows sampled (uniformly, seeded) when the embedding has more.
  int64_t max_rows = 1000000;
  uint64_t seed = 0;
};

struct Spikiness {
  int64_t spikes = 0;  // Spk
  double share = 0;    // spikes / rows considered
  int64_t rows = 0;    // rows considered (non-zero, possibly sampled)
};

// Rows of E[:, :dims] sorted by norm, descending, and normalised; a spike opens at the first
// uncovered row and covers every uncovered row with cosine above the threshold. Zero rows are
// left out.
Spikiness spikiness(const at::Tensor& embeddings, const SpikinessOptions& options = {});

}  // namespace polyphony
