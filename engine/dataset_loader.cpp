#include "engine/dataset_loader.h"

#include "common/error.h"
#include "engine/synthetic.h"

namespace polyphony {

Dataset load_dataset(const std::string& spec) {
  const auto colon = spec.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == spec.size())
    fail("--dataset '{}': expected KIND:ARGUMENT, e.g. synthetic:music-demo", spec);
  const std::string kind = spec.substr(0, colon);
  const std::string argument = spec.substr(colon + 1);
  if (kind == "synthetic") return generate_synthetic(synthetic_preset(argument), spec);
  fail("--dataset '{}': unknown kind '{}' (available: synthetic)", spec, kind);
}

}  // namespace polyphony
