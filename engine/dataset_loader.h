#pragma once
// Resolves a --dataset spec KIND:ARG into a Dataset.

#include <string>

#include "engine/dataset.h"

namespace polyphony {

// "synthetic:NAME" builds a preset of the built-in generator. An unknown kind or a malformed
// spec is an error naming the spec.
Dataset load_dataset(const std::string& spec);

}  // namespace polyphony
