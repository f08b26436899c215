#pragma once
// Resolves a dataset source and the data options into a preprocessed Dataset, through
// the binary cache when one is configured.

#include <filesystem>
#include <string>

#include "engine/data/dataset.h"
#include "engine/data/interaction_formats.h"
#include "engine/data/preprocess.h"
#include "engine/data/synthetic.h"

namespace polyphony {

// Where a dataset comes from (--dataset KIND:ARGUMENT).
struct DatasetSource {
  /// synthetic, or a file format that interaction_files knows (movielens, lfm, recbole, ...).
  std::string kind = "synthetic";
  /// A format's file or folder; for synthetic data the preset and settings as written (its
  /// name only: `synthetic` holds the settings).
  std::string argument = "music-demo";
  SyntheticOptions synthetic;

  // KIND:ARGUMENT, the dataset's name in messages and records.
  std::string spec() const { return kind + ":" + argument; }
};

struct DataOptions {
  DatasetSource source;
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

// Loads, preprocesses and (with a cache folder) caches. An unknown kind is an error naming the
// setting (`dataset`); a cache that fails its checks is rebuilt, never trusted.
LoadedDataset load_dataset(const DataOptions& options);

// The default cache folder: $POLYPHONY_CACHE_DIR, else $XDG_CACHE_HOME/polyphony, else
// ~/.cache/polyphony (empty when none of these is set).
std::filesystem::path default_cache_dir();

}  // namespace polyphony
