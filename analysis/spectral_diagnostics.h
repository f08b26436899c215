#pragma once
// Spectral diagnostics of a factorised score matrix Y = U Vᵀ (users × items) without forming it:
// the evidence the ReSN paper (Lin et al., WSDM 2025, §3) gives that popularity is memorised in
// the principal singular direction.

#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

namespace polyphony {

struct SpectralDiagnostics {
  std::vector<double> singular_values;  // the largest, descending
  // |cos| between the principal right singular vector of Y and the item popularity vector.
  double principal_popularity_cosine = 0;
  // σ₁ / Σ σ_k over all singular values of Y.
  double first_singular_share = 0;
  nlohmann::json to_json() const;
};

// `users` [U, F], `items` [I, F], `popularity` [I] (training interactions per item). Thin QR of
// both factors reduces the SVD of Y to that of the F × F matrix R_U R_Vᵀ, computed in double
// precision; `top` singular values are reported (at most F).
SpectralDiagnostics spectral_diagnostics(const at::Tensor& users, const at::Tensor& items,
                                         const at::Tensor& popularity, int64_t top = 10);

}  // namespace polyphony
