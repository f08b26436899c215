#include "models/resn.h"

#include <torch/torch.h>

#include "common/error.h"

namespace polyphony {

at::Tensor resn_term(const ScoreFactors& f, const ResnOptions& options, SpectralWarmStart* warm) {
  const auto& u = f.users;  // [B, F]
  const auto& v = f.items;  // [I, F]
  // Each form grows linearly with the number of batch users (a sum over rows of Y_B); dividing by
  // B makes β independent of the batch size and comparable with a batch-mean ranking loss.
  const double weight = options.per_user
                            ? options.weight / static_cast<double>(std::max<int64_t>(u.size(0), 1))
                            : options.weight;
  switch (options.form) {
    case ResnForm::kPower: {
      // A few warm-started iterations per step track σ₁ as the factors move.
      SpectralNormOptions power;
      power.max_iterations = 20;
      power.tolerance = 1e-4;
      auto sigma = factorized_spectral_norm(u, v, {}, 1, warm, power);
      return weight * sigma.pow(2).sum();
    }
    case ResnForm::kOfficial: {
      // r = column sums of sigmoid(U Vᵀ); q = r / ‖r‖ without gradient; then ‖sigmoid(U Vᵀ) q‖²,
      // both passes over item chunks so no [B, I] matrix is held beyond one chunk.
      const int64_t items = v.size(0);
      std::vector<at::Tensor> column_sums;
      {
        torch::NoGradGuard no_grad;
        for (int64_t begin = 0; begin < items; begin += options.item_chunk) {
          auto chunk = v.narrow(0, begin, std::min(options.item_chunk, items - begin));
          column_sums.push_back(torch::sigmoid(torch::mm(u, chunk.t())).sum(0));
        }
      }
      auto r = torch::cat(column_sums);
      auto q = r / r.norm().clamp_min(1e-12);
      auto projected = torch::zeros({u.size(0)}, u.options());
      for (int64_t begin = 0; begin < items; begin += options.item_chunk) {
        const int64_t n = std::min(options.item_chunk, items - begin);
        projected = projected + torch::mv(torch::sigmoid(torch::mm(u, v.narrow(0, begin, n).t())),
                                          q.narrow(0, begin, n));
      }
      return weight * projected.pow(2).sum();
    }
    case ResnForm::kRatio: {
      // Yᵀe = V (Uᵀe); Y Yᵀ e = U (VᵀV (Uᵀe)): d-dimensional work only.
      auto p = u.sum(0);                                             // Uᵀ e [F]
      auto yt_e = torch::mv(v, p);                                   // [I]
      auto yyt_e = torch::mv(u, torch::mv(torch::mm(v.t(), v), p));  // [B]
      return weight * yyt_e.pow(2).sum() / yt_e.pow(2).sum().clamp_min(1e-12);
    }
  }
  fail("unknown ReSN form");
}

void check_options(const ResnOptions& o) {
  if (!(o.weight >= 0)) fail("resn_weight must be non-negative (got {})", o.weight);
  if (o.item_chunk < 1) fail("resn_item_chunk must be at least 1 (got {})", o.item_chunk);
}

WithResn::WithResn(std::shared_ptr<Recommender> model, ResnOptions options)
    : model_(register_module("model", std::move(model))), options_(options) {
  check_options(options_);
  torch::NoGradGuard no_grad;  // a probe: is the model factorised, and in how many dimensions?
  const auto factors = model_->spectral_factors(torch::zeros({1}, torch::kLong));
  if (!factors)
    fail("model '{}' has no spectral factors: ReSN (resn_weight) does not apply to it",
         model_->kind());
  // A buffer, so checkpoints carry it and a resumed run goes on from the same vector. All zeros
  // means "no warm start yet" to the kernel, which then uses its fixed starting vector.
  warm_start_ = register_buffer(
      "resn_warm_start", torch::zeros({1, factors->items.size(1)}, factors->items.options()));
}

const std::vector<Option<ResnOptions>>& resn_option_list() {
  using O = OptionsOf<ResnOptions>;
  static const std::vector<Option<ResnOptions>> options = {
      with_flag(O::field("resn_weight", &ResnOptions::weight,
                         "weight β of the ReSN spectral-norm regulariser"),
                "resn"),
      O::choice("resn_form", &ResnOptions::form, "power, official or ratio",
                {{"power", ResnForm::kPower},
                 {"official", ResnForm::kOfficial},
                 {"ratio", ResnForm::kRatio}}),
      O::field("resn_unique_users", &ResnOptions::unique_users,
               "regularise each distinct user of the batch once"),
      O::field("resn_per_user", &ResnOptions::per_user,
               "divide β by the number of users regularised"),
  };
  return options;
}

std::string WithResn::graph_capture_obstacle() const {
  if (options_.unique_users)
    return "ReSN's resn_unique_users makes a shape from the batch's values (its distinct users)";
  if (options_.form == ResnForm::kPower)
    return "ReSN's power iteration keeps its warm start between steps, which a replay would not "
           "update";
  return model_->graph_capture_obstacle();
}

nlohmann::json WithResn::config() const {
  auto c = model_->config();
  c.update(options_json(resn_option_list(), options_));
  return c;
}

std::vector<RegularizationTerm> WithResn::regularization(const Batch& batch) {
  auto terms = model_->regularization(batch);
  terms.push_back(resn(batch));
  return terms;
}

TrainingLoss WithResn::training_loss(const Batch& batch, RankingLoss loss) {
  auto out = model_->training_loss(batch, loss);
  out.terms.push_back(resn(batch));
  return out;
}

RegularizationTerm WithResn::resn(const Batch& batch) {
  auto factors = model_->spectral_factors(
      options_.unique_users ? std::get<0>(at::_unique(batch.users)) : batch.users);
  if (!factors) fail("model '{}' has no spectral factors, so ReSN cannot apply", model_->kind());
  SpectralWarmStart warm{warm_start_};
  RegularizationTerm term{"resn", resn_term(*factors, options_, &warm)};
  if (warm.right.sizes() == warm_start_.sizes()) {
    torch::NoGradGuard no_grad;
    warm_start_.copy_(warm.right);
  }
  return term;
}

}  // namespace polyphony
