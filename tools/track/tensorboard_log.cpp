#include "tools/track/tensorboard_log.h"

#include <fmt/format.h>

#include "tools/track/run_values.h"

namespace polyphony::cli {

std::vector<tensorboard::HParam> config_hparams(const nlohmann::json& config) {
  std::vector<tensorboard::HParam> out;
  for (const auto& [name, value] : flat_config(config)) {
    if (value.is_number()) out.push_back({name, value.get<double>()});
    if (value.is_boolean()) out.push_back({name, value.get<bool>()});
    if (value.is_string()) out.push_back({name, value.get<std::string>()});
  }
  return out;
}

template <typename Write>
void TensorBoardLog::guarded(Write&& write) {
  try {
    write();
  } catch (const std::exception& e) {
    fmt::print(stderr, "warning: TensorBoard logging stopped ({}); training goes on\n", e.what());
    writer_.reset();
  }
}

TensorBoardLog::TensorBoardLog(const std::filesystem::path& run,
                               std::optional<int64_t> resumed_step, const nlohmann::json& config,
                               const std::string& group) {
  guarded([&] {
    writer_ = std::make_unique<TensorBoardWriter>(run / kTensorBoardFolder, resumed_step);
    writer_->session_start(config_hparams(config), group);
  });
}

TensorBoardLog::~TensorBoardLog() = default;

void TensorBoardLog::epoch(const nlohmann::json& epoch_line) {
  if (!writer_) return;
  guarded([&] { writer_->scalars(epoch_line.at("global_step"), epoch_scalars(epoch_line)); });
}

void TensorBoardLog::losses(int64_t step, const std::map<std::string, double>& losses) {
  if (!writer_ || losses.empty()) return;
  std::vector<std::pair<std::string, double>> scalars;
  for (const auto& [name, value] : losses) scalars.emplace_back("steps/" + name, value);
  guarded([&] { writer_->scalars(step, scalars); });
}

void TensorBoardLog::finish(int64_t step, const std::map<std::string, double>& test_metrics) {
  if (!writer_) return;
  std::vector<std::pair<std::string, double>> scalars;
  for (const auto& [name, value] : test_metrics) scalars.emplace_back("test/" + name, value);
  guarded([&] {
    writer_->scalars(step, scalars);
    writer_->session_end(step, true);
  });
}

}  // namespace polyphony::cli
