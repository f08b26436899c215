#include <gtest/gtest.h>
#include <torch/torch.h>

#include "analysis/spikiness.h"
#include "analysis/truncated_svd.h"
#include "engine/data/groups.h"
#include "test_support.h"

namespace polyphony {
namespace {

// PPMI with plain dense double ops, straight from the definition.
torch::Tensor dense_ppmi(const Interactions& x, int64_t users, int64_t items, int64_t min_count) {
  auto m = torch::zeros({users, items}, torch::kDouble);
  m.index_put_({x.users, x.items}, 1.0);
  auto c = m.t().mm(m);
  c.fill_diagonal_(0);
  c = torch::where(c >= min_count, c, torch::zeros_like(c));
  auto row = c.sum(1);
  auto pmi = torch::log(c * c.sum() / (row.unsqueeze(1) * row.unsqueeze(0)));
  return torch::where((c > 0) & (pmi > 0), pmi, torch::zeros_like(pmi));
}

TEST(TruncatedSvd, PpmiMatchesTheDenseDefinition) {
  const int64_t users = 40, items = 25;
  const auto x = testing::random_interactions(users, items, 12);
  for (int64_t min_count : {1, 2, 3}) {
    auto sparse = ppmi_matrix(x.users, x.items, users, items, min_count).to_dense();
    EXPECT_TRUE(torch::allclose(sparse, dense_ppmi(x, users, items, min_count), 1e-12, 1e-12))
        << "min count " << min_count;
  }
}

TEST(TruncatedSvd, FullRankEmbeddingReproducesTheMatrix) {
  const int64_t users = 50, items = 30;
  const auto x = testing::random_interactions(users, items, 15);
  TruncatedSvdOptions o;
  o.rank = items;
  o.seed = 3;
  const auto e = truncated_svd_item_embeddings(x.users, x.items, users, items, o);
  const auto m = dense_ppmi(x, users, items, 2);
  // E = U S, so E Eᵀ = U S² Uᵀ = M Mᵀ when nothing is truncated.
  EXPECT_TRUE(torch::allclose(e.mm(e.t()), m.mm(m.t()), 1e-8, 1e-8));
  EXPECT_TRUE(torch::allclose(e.norm(2, {0}), torch::linalg_svdvals(m), 1e-8, 1e-8));
}

TEST(TruncatedSvd, TruncatedSingularValuesAreTheLeadingOnes) {
  const int64_t users = 300, items = 120;
  const auto x = testing::random_interactions(users, items, 40);
  TruncatedSvdOptions o;
  o.rank = 8;
  o.power_iterations = 20;  // random data has a flat spectrum: converge fully for the check
  const auto e = truncated_svd_item_embeddings(x.users, x.items, users, items, o);
  ASSERT_EQ(e.size(1), 8);
  const auto exact = torch::linalg_svdvals(dense_ppmi(x, users, items, 2)).narrow(0, 0, 8);
  EXPECT_TRUE(torch::allclose(e.norm(2, {0}), exact, 1e-3, 0)) << e.norm(2, {0}) << exact;
}

// Rows around `clusters` orthogonal directions, tightly spread (cosine ≈ 0.99 to the centre).
torch::Tensor clustered(int64_t clusters, int64_t per_cluster, int64_t dims) {
  auto centres = torch::eye(dims, torch::kDouble).narrow(0, 0, clusters) * 5;
  auto rows = centres.repeat_interleave(per_cluster, 0);
  return rows +
         0.3 * torch::randn(rows.sizes(), torch::kDouble) / std::sqrt(static_cast<double>(dims));
}

TEST(Spikiness, CountsTheSpikesThatCoverHalfTheRows) {
  // Four equal clusters: two cover exactly 50 %, the measure needs more than half, so three.
  auto e = clustered(4, 100, 16);
  const auto s = spikiness(e);
  EXPECT_EQ(s.spikes, 3);
  EXPECT_EQ(s.rows, 400);
  // One dominant cluster, with the largest norms so that it opens the first spike, covers more
  // than half alone.
  auto dominant = torch::cat({clustered(1, 300, 16) * 2, clustered(4, 50, 16).narrow(0, 50, 150)});
  EXPECT_EQ(spikiness(dominant).spikes, 1);
  // Isotropic rows are not spiky: far more spikes.
  EXPECT_GT(spikiness(torch::randn({400, 16}, torch::kDouble)).spikes, 50);
  // Zero rows are left out.
  EXPECT_EQ(spikiness(torch::cat({e, torch::zeros({10, 16}, torch::kDouble)})).rows, 400);
}

TEST(Spikiness, UsesOnlyTheLeadingDimensions) {
  auto e = torch::cat({clustered(2, 100, 8), torch::randn({200, 8}, torch::kDouble) * 100}, 1);
  SpikinessOptions o;
  o.dims = 8;
  EXPECT_EQ(spikiness(e, o).spikes, 2);
}

TEST(InterestDiversity, ListenersAcrossCommunitiesAreMoreDiverse) {
  // Two communities of 40 items; "narrow" users draw from one, "broad" users from both.
  std::vector<int64_t> users, items;
  const int64_t n_users = 120, per_user = 16;
  for (int64_t u = 0; u < n_users; ++u) {
    const bool broad = u % 2 == 1;
    auto picks = torch::randperm(40).narrow(0, 0, per_user);
    for (int64_t k = 0; k < per_user; ++k) {
      const int64_t community = broad ? k % 2 : (u / 2) % 2;
      users.push_back(u);
      items.push_back(community * 40 + picks[k].item<int64_t>());
    }
  }
  Interactions train{torch::tensor(users), torch::tensor(items), {}, {}};
  const auto div = interest_diversity(train, n_users, 80);
  const auto broad = torch::arange(n_users) % 2 == 1;
  EXPECT_GT(div.masked_select(broad).mean().item<double>(),
            div.masked_select(~broad).mean().item<double>() + 0.1);
}

}  // namespace
}  // namespace polyphony
