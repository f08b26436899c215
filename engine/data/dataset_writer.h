#pragma once
// Writes a dataset in one of the interaction formats, so that generated data can be used by any
// tool (and read back by Polyphony) — `polyphony datagen`.

#include <filesystem>
#include <string>
#include <vector>

#include "engine/data/dataset.h"
#include "engine/data/split.h"

namespace polyphony {

// Writes `dataset` into `folder` as `format`, plus items.tsv (id, the item-group attribute) when
// the dataset has item groups. Formats with integer ids (all but csv) get 1-based dense indices
// as ids, as MovieLens numbers its users and movies (lightgcn: 0-based, as its published files);
// csv and recbole keep the external ids. Interactions without a weight are written with rating 5
// (MovieLens formats) or play count 1 (recbole: no rating field). lightgcn needs `split` (its
// files are the split); recbole writes FOLDER.inter, or with `split` the benchmark files
// FOLDER.train.inter, FOLDER.valid.inter (when the split has one) and FOLDER.test.inter, and
// FOLDER.item for the item groups. Files are written through a temporary name and renamed.
// A file that exists already is an error, before anything is written, unless `replace`.
// Returns the paths written.
std::vector<std::filesystem::path> write_dataset(const Dataset& dataset, const std::string& format,
                                                 const std::filesystem::path& folder,
                                                 const Split* split = nullptr,
                                                 bool replace = false);

}  // namespace polyphony
