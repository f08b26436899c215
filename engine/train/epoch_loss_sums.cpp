#include "engine/train/epoch_loss_sums.h"

#include <ATen/ATen.h>

#include "kernels/step_sums.h"

namespace polyphony {
namespace {

constexpr const char* kTotal = "loss";

}  // namespace

void EpochLossSums::start(const c10::Device& device) {
  health_ = at::tensor({1.0, 0.0}, at::TensorOptions().dtype(at::kDouble)).to(device);
  names_.clear();
  packed_ = at::Tensor();
}

void EpochLossSums::clear_sums() {
  // In place: a captured CUDA graph adds to this very tensor.
  if (packed_.defined()) packed_.zero_();
}

void EpochLossSums::pack(const std::vector<std::string>& names,
                         const std::map<std::string, at::Tensor>& from) {
  names_ = names;
  packed_ = at::zeros({static_cast<int64_t>(names.size()) + 1}, health_.options());
  for (const auto& [name, sum] : sums())  // views of packed_, by name
    if (const auto it = from.find(name); it != from.end()) sum.copy_(it->second);
}

void EpochLossSums::add_step(const std::vector<std::pair<std::string, at::Tensor>>& terms,
                             const at::Tensor& also_finite, double share) {
  std::vector<at::Tensor> values;
  if (!terms.empty()) {
    bool same = terms.size() == names_.size() && packed_.defined();
    for (size_t k = 0; same && k < terms.size(); ++k) same = terms[k].first == names_[k];
    if (!same) {  // the epoch's first step, or a model whose terms changed
      std::vector<std::string> names;
      for (const auto& term : terms) names.push_back(term.first);
      pack(names, sums());
    }
    for (const auto& term : terms) values.push_back(term.second);
  }
  accumulate_step_terms(terms.empty() ? at::Tensor() : packed_, values, also_finite, share,
                        health_);
}

std::map<std::string, at::Tensor> EpochLossSums::sums() const {
  std::map<std::string, at::Tensor> out;
  if (!packed_.defined()) return out;
  for (size_t k = 0; k < names_.size(); ++k) out[names_[k]] = packed_[static_cast<int64_t>(k)];
  out[kTotal] = packed_[static_cast<int64_t>(names_.size())];
  return out;
}

void EpochLossSums::set_sums(const std::map<std::string, at::Tensor>& sums) {
  names_.clear();
  packed_ = at::Tensor();
  if (sums.empty()) return;
  std::vector<std::string> names;
  for (const auto& entry : sums)
    if (entry.first != kTotal) names.push_back(entry.first);
  pack(names, sums);
}

bool EpochLossSums::all_finite() const { return health_[0].item<double>() != 0; }

int64_t EpochLossSums::finite_steps() const {
  return static_cast<int64_t>(health_[1].item<double>());
}

std::pair<at::Tensor, at::Tensor> EpochLossSums::health_for_checkpoint() const {
  return {health_[0] != 0, health_[1].to(at::kLong)};
}

void EpochLossSums::set_health(const at::Tensor& all_finite, const at::Tensor& finite_steps) {
  health_ = at::stack({all_finite.to(health_.device(), at::kDouble).reshape({}),
                       finite_steps.to(health_.device(), at::kDouble).reshape({})});
}

}  // namespace polyphony
