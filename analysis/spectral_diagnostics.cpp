#include "analysis/spectral_diagnostics.h"

#include <ATen/ATen.h>

#include <algorithm>

#include <fmt/ranges.h>

#include "common/error.h"

namespace polyphony {

SpectralDiagnostics spectral_diagnostics(const at::Tensor& users, const at::Tensor& items,
                                         const at::Tensor& popularity, int64_t top) {
  if (users.dim() != 2 || items.dim() != 2 || users.size(1) != items.size(1))
    fail("spectral diagnostics: factors must be [U, F] and [I, F] with one F (got {} and {})",
         fmt::join(users.sizes(), "x"), fmt::join(items.sizes(), "x"));
  if (popularity.numel() != items.size(0))
    fail("spectral diagnostics: popularity has {} entries for {} items", popularity.numel(),
         items.size(0));
  const auto u = users.detach().to(at::kDouble);
  const auto v = items.detach().to(at::kDouble);
  // Y = Q_U (R_U R_Vᵀ) Q_Vᵀ; with R_U R_Vᵀ = A S Bᵀ, Y's right singular vectors are Q_V B.
  const auto r_u = std::get<1>(at::linalg_qr(u));
  const auto [q_v, r_v] = at::linalg_qr(v);
  const auto svd = at::linalg_svd(at::mm(r_u, r_v.t()), /*full_matrices=*/false);
  const auto& s = std::get<1>(svd);
  const auto principal = at::mv(q_v, std::get<2>(svd)[0]);  // first row of Bᵀ
  const auto pop = popularity.detach().to(at::kCPU).to(at::kDouble);

  SpectralDiagnostics d;
  const auto s_cpu = s.cpu();
  for (int64_t k = 0; k < std::min<int64_t>(top, s_cpu.numel()); ++k)
    d.singular_values.push_back(s_cpu[k].item<double>());
  const double total = s_cpu.sum().item<double>();
  d.first_singular_share = total > 0 ? s_cpu[0].item<double>() / total : 0;
  const double norms = principal.norm().item<double>() * pop.norm().item<double>();
  d.principal_popularity_cosine =
      norms > 0 ? std::abs(at::dot(principal.cpu(), pop).item<double>()) / norms : 0;
  return d;
}

nlohmann::json SpectralDiagnostics::to_json() const {
  return {{"singular_values", singular_values},
          {"principal_popularity_cosine", principal_popularity_cosine},
          {"first_singular_share", first_singular_share}};
}

}  // namespace polyphony
