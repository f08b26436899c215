#pragma once
// The data options shared by the subcommands that read a dataset: source, preprocessing, split,
// groups and cache.

#include <cxxopts.hpp>
#include <nlohmann/json.hpp>

#include "engine/data/prepared_data.h"

namespace polyphony::cli {

// Adds --dataset, --min-rating/--min-plays, --columns, --delimiter, the count filters, --split,
// the group options and the cache options to `spec`.
void add_data_options(cxxopts::Options& spec);

// Reads them back; a bad value is an error naming the option. `seed` seeds the split.
DataSetup read_data_options(const cxxopts::ParseResult& args, uint64_t seed);

// Prints what was read, kept and split, one line each.
void print_data_summary(const PreparedData& data, const DataSetup& setup);

// The data part of config.resolved.json.
nlohmann::json data_config(const PreparedData& data, const DataSetup& setup);

}  // namespace polyphony::cli
