#pragma once
// Builds a model from its registry name and options. This is the only place that knows every
// model; the trainer and the tools go through it.

#include <memory>
#include <string>
#include <vector>

#include "models/model_options.h"
#include "models/recommender.h"

namespace polyphony {

struct ModelInfo {
  std::string name;
  std::string summary;    // one line for --help
  bool trainable = true;  // false: fitted in closed form when built (Recommender::trainable)
};

// Every model the registry can build, in the order --help lists them.
const std::vector<ModelInfo>& available_models();

// Checks `options` of `name` as make_model does (the model exists, every key is known and of the
// right type, every value one the model can be built with) without data, so a command can refuse
// them before loading any.
void check_model_options(const std::string& name, const nlohmann::json& options);

// The command line's shortcuts to model settings (--dim, --k-filter, --ortho, --ortho-user,
// --ortho-item, --resn): every model option declared with a flag, and ProtoMF's --k-filter. A
// flag several models share (dim) is one shortcut.
const std::vector<ModelShortcut>& model_shortcuts();

// Builds `name` with `options` (keys of the model's config; missing keys take defaults, unknown
// keys are an error naming the key).
std::shared_ptr<Recommender> make_model(const std::string& name, const ModelContext& context,
                                        const nlohmann::json& options = nlohmann::json::object());

}  // namespace polyphony
