#pragma once
// Resolves a --dataset spec KIND:ARG and the data options into a preprocessed Dataset, through
// the binary cache when one is configured.

#include <filesystem>
#include <string>

#include "engine/data/dataset.h"
#include "engine/data/interaction_formats.h"
#include "engine/data/preprocess.h"

namespace polyphony {

struct DataOptions {
  /// KIND:ARG, e.g. synthetic:music-demo, movielens:ml-1m/ratings.dat, lightgcn:data/gowalla.
  std::string dataset = "synthetic:music-demo";
  ReadOptions read;
  CountFilterOptions filters;
  /// Folder of the binary cache; empty disables it. Synthetic data is generated, not cached.
  std::filesystem::path cache_dir;

  // A canonical text of the options that change the loaded dataset (part of the cache key).
  std::string fingerprint_text() const;
};

struct LoadedDataset {
  Dataset dataset;
  PreprocessReport report;
  std::string cache;  // what the cache did: "off", "hit FILE", "wrote FILE", "rebuilt FILE: why"
};

// Loads, preprocesses and (with a cache folder) caches. An unknown kind or a malformed spec is
// an error naming the spec; a cache that fails its checks is rebuilt, never trusted.
LoadedDataset load_dataset(const DataOptions& options);

// The default cache folder: $POLYPHONY_CACHE_DIR, else $XDG_CACHE_HOME/polyphony, else
// ~/.cache/polyphony (empty when none of these is set).
std::filesystem::path default_cache_dir();

}  // namespace polyphony
