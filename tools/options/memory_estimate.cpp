#include "tools/options/memory_estimate.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#ifdef POLYPHONY_WITH_CUDA
#include <cuda_runtime_api.h>
#endif

#include "common/error.h"

namespace polyphony::cli {
namespace {

constexpr double kFloat = 4;  // bytes per parameter or activation (float32)
constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

// A numeric model option, or `fallback` when it is not set (the models' own defaults).
double model_option(const nlohmann::json& options, const char* key, double fallback) {
  const auto it = options.find(key);
  return it != options.end() && it->is_number() ? it->get<double>() : fallback;
}

}  // namespace

MemoryEstimate estimate_training_memory(const TrainSetup& setup, int64_t users, int64_t items) {
  const auto& o = setup.model_options;
  const double dim = model_option(o, "dim", model_option(o, "rank", 64));
  // Rows of embedding-like tables: users, items, and whatever the model adds (prototypes,
  // anchors, interests); each has `dim` floats.
  double rows = static_cast<double>(users) + static_cast<double>(items);
  std::string extra;
  for (const char* key : {"user_prototypes", "item_prototypes", "anchors", "interests"})
    if (const double n = model_option(o, key, 0); n > 0) {
      rows += n;
      extra += fmt::format(" + {} {}", key, n);
    }
  MemoryEstimate e;
  // Value, gradient and Adam's two moments.
  e.parameter_bytes = rows * dim * kFloat * 4;
  e.parameters_from =
      fmt::format("(users + items{}) × dim {:g}, {} + {}", extra, dim, users, items);
  // One step: every positive and negative row gathered for both sides with its gradient and
  // temporaries (8 copies), and for graph models every layer's embedding table, kept for the
  // backward pass.
  const double scored = static_cast<double>(setup.trainer.batch_size) *
                        (1.0 + static_cast<double>(setup.trainer.negatives));
  const double width =
      std::max({dim, model_option(o, "user_prototypes", 0), model_option(o, "item_prototypes", 0)});
  const double layers = model_option(o, "layers", 0);
  e.activation_bytes = scored * width * kFloat * 8 +
                       layers * 2 * (static_cast<double>(users) + items) * dim * kFloat;
  e.step_from = fmt::format("batch {} × (1 + {} negatives) × {:g}", setup.trainer.batch_size,
                            setup.trainer.negatives, width);
  return e;
}

std::optional<double> available_memory_bytes(const c10::Device& device) {
  if (device.is_cuda()) {
#ifdef POLYPHONY_WITH_CUDA
    size_t free = 0, total = 0;
    if (cudaSetDevice(std::max<int>(0, device.index())) == cudaSuccess &&
        cudaMemGetInfo(&free, &total) == cudaSuccess)
      return static_cast<double>(free);
#endif
    return std::nullopt;
  }
  std::ifstream meminfo("/proc/meminfo");
  std::string line;
  while (std::getline(meminfo, line)) {
    std::istringstream fields(line);
    std::string key;
    double kib = 0;
    if (fields >> key >> kib && key == "MemAvailable:") return kib * 1024;
  }
  return std::nullopt;
}

void check_training_memory(const TrainSetup& setup, int64_t users, int64_t items,
                           const c10::Device& device) {
  const auto available = available_memory_bytes(device);
  const MemoryEstimate e = estimate_training_memory(setup, users, items);
  if (!available || e.total() <= *available) return;
  const bool parameters = e.parameter_bytes >= e.activation_bytes;
  fail(
      "this configuration needs about {:.1f} GiB to train, more than the {:.1f} GiB free on {}: "
      "parameters with gradients and optimiser state {:.1f} GiB ({}), one step {:.1f} GiB ({}); "
      "{}",
      e.total() / kGiB, *available / kGiB, device.str(), e.parameter_bytes / kGiB,
      e.parameters_from, e.activation_bytes / kGiB, e.step_from,
      parameters ? "lower --dim (or the model's prototype, anchor or interest counts)"
                 : "lower --batch-size, --negatives or --dim");
}

}  // namespace polyphony::cli
