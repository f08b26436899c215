#pragma once
// A compact binary cache of parsed, remapped and preprocessed datasets, keyed by the content
// hash of the source files and the options that shaped the result. Loading reads the arrays
// straight into tensors; a checksum over the whole file makes a truncated or corrupt cache an
// error the caller answers by rebuilding, never by trusting it.

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/data/dataset.h"
#include "engine/data/preprocess.h"

namespace polyphony {

using CacheKey = std::array<uint8_t, 16>;

// Hashes the contents of `files` (streamed) together with `options`, a canonical text of every
// option that changes the parsed result.
CacheKey dataset_cache_key(const std::vector<std::filesystem::path>& files,
                           const std::string& options);

// The cache file for `key` in `directory`.
std::filesystem::path dataset_cache_path(const std::filesystem::path& directory,
                                         const std::string& kind, const CacheKey& key);

// Writes atomically (temporary file, fsync, rename).
void save_dataset_cache(const std::filesystem::path& path, const CacheKey& key,
                        const Dataset& dataset, const PreprocessReport& report);

// Loads a cache written for `key`; an error (naming the file and what is wrong: truncated,
// checksum mismatch, other key or version) when it cannot be trusted.
Dataset load_dataset_cache(const std::filesystem::path& path, const CacheKey& key,
                           PreprocessReport& report);

}  // namespace polyphony
