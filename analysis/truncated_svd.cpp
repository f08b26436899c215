#include "analysis/truncated_svd.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>

#include <c10/util/Exception.h>

#include "common/error.h"

namespace polyphony {
namespace {

class SilentWarnings : public c10::WarningHandler {
 public:
  void process(const c10::Warning&) override {}
};
SilentWarnings silent;

}  // namespace

at::Tensor ppmi_matrix(const at::Tensor& users, const at::Tensor& items, int64_t num_users,
                       int64_t num_items, int64_t min_cooccurrence) {
  auto pairs = at::stack({users.to(at::kCPU), items.to(at::kCPU)});
  auto x =
      at::sparse_coo_tensor(pairs, at::ones({users.numel()}, at::kDouble), {num_users, num_items})
          .coalesce();
  x = at::sparse_coo_tensor(x.indices(), at::ones_like(x.values()), x.sizes())
          .coalesce();  // binary
  at::Tensor c;
  {
    // LibTorch warns that its sparse kernels are in beta; the product below is exact.
    c10::WarningUtils::WarningHandlerGuard quiet(&silent);
    c = at::mm(x.t().coalesce(), x).coalesce();  // [I, I] co-occurrence counts
  }
  auto index = c.indices();
  auto count = c.values();
  auto keep = (index[0] != index[1]) & (count >= static_cast<double>(min_cooccurrence));
  index = index.index({at::indexing::Slice(), keep});
  count = count.index({keep});
  auto row_sum = at::zeros({num_items}, at::kDouble).index_add_(0, index[0], count);
  const double total = count.sum().item<double>();
  auto pmi = at::log(count * total /
                     (row_sum.index_select(0, index[0]) * row_sum.index_select(0, index[1])));
  auto positive = pmi > 0;
  return at::sparse_coo_tensor(index.index({at::indexing::Slice(), positive}),
                               pmi.index({positive}), {num_items, num_items})
      .coalesce();
}

void check_options(const TruncatedSvdOptions& o) {
  if (o.rank < 1) fail("truncated SVD: rank must be at least 1 (got {})", o.rank);
  if (o.min_cooccurrence < 1)
    fail("truncated SVD: min_cooccurrence must be at least 1 (got {})", o.min_cooccurrence);
  if (o.oversampling < 0)
    fail("truncated SVD: oversampling must be 0 or more (got {})", o.oversampling);
  if (o.power_iterations < 0)
    fail("truncated SVD: power_iterations must be 0 or more (got {})", o.power_iterations);
}

at::Tensor truncated_svd_item_embeddings(const at::Tensor& users, const at::Tensor& items,
                                         int64_t num_users, int64_t num_items,
                                         const TruncatedSvdOptions& o) {
  check_options(o);
  const auto m = ppmi_matrix(users, items, num_users, num_items, o.min_cooccurrence);
  const int64_t rank = std::min(o.rank, num_items);
  const int64_t width = std::min(rank + o.oversampling, num_items);
  auto generator = at::make_generator<at::CPUGeneratorImpl>(o.seed);
  // Range finder with power iterations (Halko et al., 2011, Algorithm 4.4); M is symmetric.
  auto q =
      std::get<0>(at::linalg_qr(at::mm(m, at::randn({num_items, width}, generator, at::kDouble))));
  for (int64_t k = 0; k < o.power_iterations; ++k) q = std::get<0>(at::linalg_qr(at::mm(m, q)));
  auto b = at::mm(m, q).t();  // Qᵀ M = (M Q)ᵀ, [width, I]
  const auto svd = at::linalg_svd(b, /*full_matrices=*/false);
  const auto& u_b = std::get<0>(svd);
  const auto& s = std::get<1>(svd);
  return at::mm(q, u_b.narrow(1, 0, rank)) * s.narrow(0, 0, rank);
}

}  // namespace polyphony
