// The graph models (LightGCN, multi-interest), ACF and the sparse product under them, each against
// a literal implementation of its formula in plain dense torch ops, in double, on fresh random
// inputs: forward values and gradients.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <utility>

#include "common/error.h"
#include "models/acf.h"
#include "models/interaction_graph.h"
#include "models/lightgcn.h"
#include "models/multi_interest.h"
#include "models/registry.h"
#include "models/sparse_matmul.h"
#include "test_support.h"

namespace polyphony {
namespace {

ModelContext random_context(int64_t users, int64_t items, int64_t max_per_user) {
  auto train = testing::random_interactions(users, items, max_per_user);
  return {users, items, train.users, train.items};
}

// The dense 0/1 adjacency of the bipartite graph, [U + I, U + I].
at::Tensor dense_adjacency(const ModelContext& c) {
  const int64_t n = c.num_users + c.num_items;
  auto a = torch::zeros({n, n}, torch::kDouble);
  for (int64_t e = 0; e < c.train_users.numel(); ++e) {
    const int64_t u = c.train_users[e].item<int64_t>();
    const int64_t i = c.num_users + c.train_items[e].item<int64_t>();
    a[u][i] = 1.0;
    a[i][u] = 1.0;
  }
  return a;
}

// D^{-1/2} A D^{-1/2}, element by element.
at::Tensor dense_normalized(const at::Tensor& a) {
  auto out = torch::zeros_like(a);
  const auto degree = a.sum(1);
  for (int64_t v = 0; v < a.size(0); ++v)
    for (int64_t j = 0; j < a.size(1); ++j)
      if (a[v][j].item<double>() != 0)
        out[v][j] = 1.0 / std::sqrt(degree[v].item<double>() * degree[j].item<double>());
  return out;
}

void expect_close(const at::Tensor& actual, const at::Tensor& expected, double tol = 1e-10) {
  ASSERT_EQ(actual.sizes(), expected.sizes());
  EXPECT_TRUE(torch::allclose(actual, expected, tol, tol))
      << "max |diff| " << (actual - expected).abs().max().item<double>();
}

TEST(SparseMatmul, ProductAndGradientMatchTheDenseMatrix) {
  const int64_t n = 7, m = 11, nnz = 23;
  auto rows = torch::randint(n, {nnz}, torch::kLong);
  auto cols = torch::randint(m, {nnz}, torch::kLong);
  auto values = torch::randn({nnz}, torch::kDouble);
  auto dense = torch::zeros({n, m}, torch::kDouble);
  for (int64_t e = 0; e < nnz; ++e)  // duplicates add up
    dense[rows[e].item<int64_t>()][cols[e].item<int64_t>()] += values[e];
  const auto a = sparse_matrix(rows, cols, values, n, m);
  auto x = torch::randn({m, 5}, torch::kDouble).requires_grad_(true);
  auto y = sparse_matmul(a, x);
  expect_close(y, torch::mm(dense, x.detach()));
  auto w = torch::randn({n, 5}, torch::kDouble);
  (y * w).sum().backward();
  expect_close(x.grad(), torch::mm(dense.t(), w));
  // Finite differences: the backward is the derivative of the forward.
  const double h = 1e-6;
  auto flat = x.detach().view(-1);
  for (int64_t i = 0; i < flat.numel(); i += 3) {
    const double old = flat[i].item<double>();
    flat[i] = old + h;
    const double up = (sparse_matmul(a, x.detach()) * w).sum().item<double>();
    flat[i] = old - h;
    const double down = (sparse_matmul(a, x.detach()) * w).sum().item<double>();
    flat[i] = old;
    EXPECT_NEAR(x.grad().view(-1)[i].item<double>(), (up - down) / (2 * h), 1e-6);
  }
  EXPECT_THROW(sparse_matmul(a, torch::randn({m + 1, 5}, torch::kDouble)), c10::Error);
}

TEST(SparseMatmul, CsrOrderedEntriesGiveTheMatrixAndItsTranspose) {
  const int64_t n = 6, m = 9;
  const auto mask = torch::rand({n, m}) < 0.4;
  const auto dense = torch::randn({n, m}, torch::kDouble) * mask;
  const auto nonzero = mask.nonzero();  // row-major: CSR order
  const auto rows = nonzero.select(1, 0).contiguous(), cols = nonzero.select(1, 1).contiguous();
  const auto pointers =
      torch::cat({torch::zeros({1}, torch::kLong), torch::bincount(rows, {}, n).cumsum(0)});
  const auto a = csr_matrix(pointers, rows, cols, dense.index({rows, cols}), m);
  expect_close(a.matrix.to_dense(), dense);
  expect_close(a.transposed.to_dense(), dense.t());
}

TEST(InteractionGraph, NormalisedAdjacencyIsTheSymmetricDegreeNormalisation) {
  auto ctx = random_context(9, 13, 5);
  // A repeated interaction is one edge.
  ctx.train_users = torch::cat({ctx.train_users, ctx.train_users.narrow(0, 0, 2)});
  ctx.train_items = torch::cat({ctx.train_items, ctx.train_items.narrow(0, 0, 2)});
  const auto g = interaction_graph(ctx).to(torch::kCPU, torch::kDouble);
  const auto a = dense_adjacency(ctx);
  expect_close(g.adjacency.matrix.to_dense(), a);
  expect_close(g.normalized_adjacency.matrix.to_dense(), dense_normalized(a));
  EXPECT_EQ(g.row_pointers[-1].item<int64_t>(), g.edge_rows.numel());

  auto bad = ctx;
  bad.train_items = bad.train_items.clone();
  bad.train_items[0] = 13;
  EXPECT_THROW(interaction_graph(bad), Error);
}

TEST(LightGcn, ScoresAndGradientsMatchTheLiteralPropagationInDouble) {
  const auto ctx = random_context(8, 12, 5);
  LightGcnOptions o;
  o.dim = 4;
  o.layers = 3;
  LightGcn model(ctx, o);
  model.to(torch::kDouble);
  auto users = torch::randint(8, {5}, torch::kLong);
  auto items = torch::randint(12, {5, 3}, torch::kLong);
  auto scores = model.score(users, items);

  // Literal: E = mean_{l=0..L} Â^l E0, score = e_u · e_{U+i}.
  const auto a_hat = dense_normalized(dense_adjacency(ctx));
  auto e0 = model.embedding().detach().clone().requires_grad_(true);
  auto layer = e0, sum = e0;
  for (int64_t l = 0; l < 3; ++l) {
    layer = torch::mm(a_hat, layer);
    sum = sum + layer;
  }
  const auto e = sum / 4.0;
  auto expected = torch::zeros({5, 3}, torch::kDouble);
  for (int64_t b = 0; b < 5; ++b)
    for (int64_t j = 0; j < 3; ++j)
      expected[b][j] = (e[users[b].item<int64_t>()] * e[8 + items[b][j].item<int64_t>()]).sum();
  expect_close(scores, expected);
  auto w = torch::randn({5, 3}, torch::kDouble);
  (scores * w).sum().backward();
  (expected * w).sum().backward();
  expect_close(model.embedding().grad(), e0.grad());

  torch::NoGradGuard no_grad;
  expect_close(model.score_all_items(users).gather(1, items), scores.detach());
  // Evaluation reuses the propagation until the parameters change.
  const auto before = model.score_all_items(users);
  model.embedding().mul_(2.0);
  expect_close(model.score_all_items(users), 4.0 * before);
}

TEST(LightGcn, DecayIsTheOfficialL2OnTheBatchsLayerZeroEmbeddings) {
  const auto ctx = random_context(8, 12, 5);
  LightGcnOptions o;
  o.dim = 4;
  o.layers = 2;
  EXPECT_TRUE(LightGcn(ctx, o).regularization({}).empty());  // off by default
  o.decay = 1e-4;
  LightGcn model(ctx, o);
  model.to(torch::kDouble);
  const Batch batch = testing::batch_of(torch::tensor({0, 3, 3, 7}), torch::tensor({1, 2, 11, 5}),
                                        torch::tensor({{4, 0}, {9, 9}, {10, 1}, {6, 2}}));
  const auto terms = model.regularization(batch);
  ASSERT_EQ(terms.size(), 1u);
  EXPECT_EQ(terms[0].name, "lightgcn_decay");
  // decay · ½ (Σ_b ‖e_u⁰‖² + ‖e_i⁰‖² + Σ_j ‖e_j⁰‖²) / B, item rows after the 8 user rows; a node
  // drawn twice counts twice, as in LightGCN-PyTorch.
  const auto e0 = model.embedding().detach();
  double expected = 0;
  for (int64_t b = 0; b < 4; ++b) {
    expected += e0[batch.users[b].item<int64_t>()].pow(2).sum().item<double>();
    expected += e0[8 + batch.items[b][0].item<int64_t>()].pow(2).sum().item<double>();
    for (int64_t j = 0; j < 2; ++j)
      expected += e0[8 + batch.items[b][1 + j].item<int64_t>()].pow(2).sum().item<double>();
  }
  EXPECT_NEAR(terms[0].value.item<double>(), 1e-4 * 0.5 * expected / 4.0, 1e-15);
  terms[0].value.backward();
  // Only the batch's rows are pulled towards zero.
  EXPECT_EQ(model.embedding().grad()[2].abs().sum().item<double>(), 0.0);
  EXPECT_NE(model.embedding().grad()[0].abs().sum().item<double>(), 0.0);
  EXPECT_THROW(make_model("lightgcn", ctx, {{"decay", -1}}), Error);
  EXPECT_EQ(make_model("lightgcn", ctx, {{"decay", 1e-4}})->config()["decay"], 1e-4);
}

// The multi-interest layer written out edge by edge and interest by interest.
struct LiteralMultiInterest {
  at::Tensor adjacency, normalized;  // dense [N, N]
  int64_t users;
  double temperature, epsilon;

  // Returns (interests [N, K, d], next centers [N, d]).
  std::pair<at::Tensor, at::Tensor> layer(const at::Tensor& c, const at::Tensor& w) const {
    const int64_t n = c.size(0), k = w.size(0);
    const auto a = torch::softmax(torch::mm(c, w.t()) / temperature, 1);
    std::vector<at::Tensor> rows;
    for (int64_t v = 0; v < n; ++v) {
      std::vector<at::Tensor> per_k;
      for (int64_t kk = 0; kk < k; ++kk) {
        auto num = torch::zeros({c.size(1)}, torch::kDouble);
        auto den = torch::zeros({}, torch::kDouble);
        for (int64_t j = 0; j < n; ++j) {
          if (adjacency[v][j].item<double>() == 0) continue;
          num = num + a[j][kk] * c[j];
          den = den + a[j][kk];
        }
        per_k.push_back(num / (den + epsilon));
      }
      rows.push_back(torch::stack(per_k));
    }
    const auto interests = torch::stack(rows);  // [N, K, d]
    std::vector<at::Tensor> next;
    for (int64_t v = 0; v < n; ++v) {
      auto sum = torch::zeros({c.size(1)}, torch::kDouble);
      for (int64_t j = 0; j < n; ++j) {
        if (adjacency[v][j].item<double>() == 0) continue;
        const int64_t best =
            torch::mv(interests[j].detach(), c[v].detach()).argmax().item<int64_t>();
        sum = sum + normalized[v][j] * interests[j][best];
      }
      next.push_back(sum);
    }
    return {interests, torch::stack(next)};
  }
};

TEST(MultiInterest, ScoresAndGradientsMatchTheLiteralFormulationInDouble) {
  const auto ctx = random_context(6, 9, 4);
  MultiInterestOptions o;
  o.dim = 5;
  o.layers = 2;
  o.interests = 3;
  o.temperature = 0.7;
  MultiInterest model(ctx, o);
  model.to(torch::kDouble);
  auto users = torch::randint(6, {4}, torch::kLong);
  auto items = torch::randint(9, {4, 3}, torch::kLong);
  auto scores = model.score(users, items);

  const auto a = dense_adjacency(ctx);
  LiteralMultiInterest literal{a, dense_normalized(a), 6, 0.7, o.epsilon};
  auto c0 = model.embedding().detach().clone().requires_grad_(true);
  auto w = model.global_interests().detach().clone().requires_grad_(true);
  at::Tensor c = c0, sum = c0, interests;
  for (int64_t l = 0; l < 2; ++l) {
    std::tie(interests, c) = literal.layer(c, w);
    sum = sum + c;
  }
  const auto centers = sum / 3.0;
  auto expected = torch::zeros({4, 3}, torch::kDouble);
  for (int64_t b = 0; b < 4; ++b) {
    const int64_t u = users[b].item<int64_t>();
    for (int64_t j = 0; j < 3; ++j) {
      const auto ci = centers[6 + items[b][j].item<int64_t>()];
      auto best = (centers[u] * ci).sum();
      for (int64_t k = 0; k < 3; ++k) best = torch::maximum(best, (interests[u][k] * ci).sum());
      expected[b][j] = best;
    }
  }
  expect_close(scores, expected);
  auto weights = torch::randn({4, 3}, torch::kDouble);
  (scores * weights).sum().backward();
  (expected * weights).sum().backward();
  expect_close(model.embedding().grad(), c0.grad());
  expect_close(model.global_interests().grad(), w.grad());

  torch::NoGradGuard no_grad;
  expect_close(model.score_all_items(users).gather(1, items), scores.detach());
  const auto factors = *model.spectral_factors(users);
  expect_close(torch::mm(factors.users, factors.items.t()),
               torch::mm(centers.index_select(0, users), centers.narrow(0, 6, 9).t()).detach());
  EXPECT_FALSE(model.score_factors(users).has_value());
  // The exported form: the largest product of the item with the user's center and interests.
  const auto exported = *model.max_product_factors(users);
  ASSERT_EQ(exported.users.sizes(), (std::vector<int64_t>{4, 4, 5}));
  expect_close(torch::matmul(exported.users, exported.items.t()).amax(1).gather(1, items),
               scores.detach());
  // Evaluation reuses the propagation until a parameter changes, the global interests included.
  const auto before = model.score_all_items(users);
  model.global_interests().mul_(3.0);
  EXPECT_FALSE(torch::equal(model.score_all_items(users), before));
}

// Ids drawn from all users and items, and from only a few (many repeats): whether the mixtures are
// computed per slot or once per distinct id (models/distinct_ids.h), the formula's values.
class AcfFormula : public ::testing::TestWithParam<std::pair<int64_t, int64_t>> {};

TEST_P(AcfFormula, ScoresTermsAndGradientsMatchTheFormulaInDouble) {
  const auto [user_ids, item_ids] = GetParam();
  const auto ctx = random_context(7, 10, 4);
  AcfOptions o;
  o.dim = 4;
  o.anchors = 3;
  o.exclusiveness_weight = 0.3;
  o.inclusiveness_weight = 0.2;
  Acf model(ctx, o);
  model.to(torch::kDouble);
  const Batch batch = testing::batch_of(torch::randint(user_ids, {5}, torch::kLong),
                                        torch::randint(item_ids, {5}, torch::kLong),
                                        torch::randint(item_ids, {5, 2}, torch::kLong));
  auto items = batch.items;
  auto scores = model.score(batch.users, items);
  const auto terms = model.regularization(batch);
  ASSERT_EQ(terms.size(), 2u);
  EXPECT_EQ(terms[0].name, "acf_exclusiveness");
  EXPECT_EQ(terms[1].name, "acf_inclusiveness");

  auto eu = model.user_embedding().detach().clone().requires_grad_(true);
  auto et = model.item_embedding().detach().clone().requires_grad_(true);
  auto anchors = model.anchors().detach().clone().requires_grad_(true);
  auto mix = [&](const at::Tensor& e) { return torch::softmax(torch::mv(anchors, e), 0); };
  auto expected = torch::zeros({5, 3}, torch::kDouble);
  auto exclusiveness = torch::zeros({}, torch::kDouble);
  auto q = torch::zeros({3}, torch::kDouble);
  for (int64_t b = 0; b < 5; ++b) {
    const auto u = torch::mv(anchors.t(), mix(eu[batch.users[b].item<int64_t>()]));
    for (int64_t j = 0; j < 3; ++j) {
      const auto c = mix(et[items[b][j].item<int64_t>()]);
      expected[b][j] = (u * torch::mv(anchors.t(), c)).sum();
      exclusiveness = exclusiveness - (c * c.log()).sum();
      q = q + c;
    }
  }
  q = q / q.sum();
  const auto inclusiveness = -(q * q.log()).sum();
  expect_close(scores, expected);
  expect_close(terms[0].value, 0.3 * exclusiveness);
  expect_close(terms[1].value, -0.2 * inclusiveness);
  auto w = torch::randn({5, 3}, torch::kDouble);
  ((scores * w).sum() + terms[0].value + terms[1].value).backward();
  ((expected * w).sum() + 0.3 * exclusiveness - 0.2 * inclusiveness).backward();
  expect_close(model.user_embedding().grad(), eu.grad());
  expect_close(model.item_embedding().grad(), et.grad());
  expect_close(model.anchors().grad(), anchors.grad());
  torch::NoGradGuard no_grad;
  expect_close(model.score_all_items(batch.users).gather(1, items), scores.detach());
}

INSTANTIATE_TEST_SUITE_P(Ids, AcfFormula,
                         ::testing::Values(std::pair<int64_t, int64_t>{7, 10},
                                           std::pair<int64_t, int64_t>{2, 3}),
                         [](const auto& info) {
                           return info.param.first == 7 ? std::string("all") : std::string("few");
                         });

// Every new model saves, reloads and scores identically, and takes the ReSN term.
TEST(GraphModels, ReloadAndResnComposeThroughTheRegistry) {
  const auto ctx = random_context(10, 14, 5);
  for (const std::string name : {"acf", "lightgcn", "multi-interest"}) {
    SCOPED_TRACE(name);
    auto model = make_model(name, ctx, {{"dim", 6}, {"resn_weight", 0.5}});
    testing::TempDir dir;
    torch::save(model, (dir.path() / "m.pt").string());
    auto reloaded = make_model(name, ctx, model->config());
    torch::load(reloaded, (dir.path() / "m.pt").string());
    torch::NoGradGuard no_grad;
    const auto users = torch::arange(10);
    EXPECT_TRUE(torch::equal(model->score_all_items(users), reloaded->score_all_items(users)));
    at::GradMode::set_enabled(true);
    const Batch batch =
        testing::batch_of(torch::arange(4), torch::randint(14, {4}), torch::randint(14, {4, 2}));
    const auto terms = model->regularization(batch);
    ASSERT_FALSE(terms.empty());
    EXPECT_EQ(terms.back().name, "resn");
    EXPECT_TRUE(terms.back().value.isfinite().item<bool>());
    EXPECT_GT(terms.back().value.item<double>(), 0);
  }
  EXPECT_CONTAINS(testing::error_of([&] {
                    make_model("lightgcn", ctx, {{"layer", 2}});
                  }),
                  "unknown option 'layer'");
  EXPECT_CONTAINS(testing::error_of([&] {
                    make_model("multi-interest", ctx, {{"layers", 0}});
                  }),
                  "layers must be at least 1");
  EXPECT_CONTAINS(testing::error_of([&] {
                    make_model("acf", ctx, {{"anchors", 0}});
                  }),
                  "anchors must be at least 1");
}

}  // namespace
}  // namespace polyphony
