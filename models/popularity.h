#pragma once
// Most-popular baseline: every user gets the items with the most training interactions.

#include "models/recommender.h"

namespace polyphony {

class Popularity : public Recommender {
 public:
  explicit Popularity(const ModelContext& context);

  std::string kind() const override { return "pop"; }
  nlohmann::json config() const override { return nlohmann::json::object(); }
  bool trainable() const override { return false; }
  at::Tensor score(const at::Tensor& users, const at::Tensor& items) override;
  at::Tensor score_all_items(const at::Tensor& users) override;

 private:
  at::Tensor counts_;  // float [num_items]: training interactions per item
};

}  // namespace polyphony
