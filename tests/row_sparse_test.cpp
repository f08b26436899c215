// Row-sparse embedding updates: the row-wise optimisers (the fused CPU pass and the tensor
// operations) against a double-precision reference of their definition on fresh random tables,
// equality with the dense optimisers where every row is read, exact save and load, and the
// models' row-sparse gradients.

#include <torch/torch.h>

#include <cmath>
#include <set>
#include <sstream>
#include <string>
#include <tuple>

#include "engine/train/model_optimizer.h"
#include "engine/train/row_sparse_gradients.h"
#include "engine/train/row_sparse_optimizer.h"
#include "models/registry.h"
#include "tests/test_support.h"

namespace polyphony {
namespace {

using testing::error_of;

constexpr int64_t kRows = 40, kDim = 7;

OptimizerOptions options_for(const std::string& name, double momentum = 0.9) {
  OptimizerOptions o;
  o.name = name;
  o.lr = name == "adagrad" ? 0.3 : 0.05;
  o.weight_decay = 0.01;
  o.momentum = momentum;
  o.embedding_updates = EmbeddingUpdates::kRowSparse;
  return o;
}

// A gradient as an embedding lookup's backward gives it: uncoalesced, rows read twice included.
at::Tensor lookup_gradient(int64_t reads) {
  const auto ids = torch::randint(kRows, {reads});
  return torch::sparse_coo_tensor(ids.unsqueeze(0), torch::randn({reads, kDim}), {kRows, kDim});
}

// The step's gradients: sparse ones with a dense one (a regulariser reading the whole table) in
// the middle.
std::vector<at::Tensor> gradients(int steps) {
  std::vector<at::Tensor> out;
  for (int s = 0; s < steps; ++s)
    out.push_back(s == steps / 2 ? torch::randn({kRows, kDim}) : lookup_gradient(25));
  return out;
}

// The definition of row_sparse_optimizer.h, in double precision, one row at a time.
struct Reference {
  OptimizerOptions o;
  at::Tensor w, first, second;
  int64_t steps = 0;

  Reference(const at::Tensor& table, OptimizerOptions options)
      : o(std::move(options)),
        w(table.to(torch::kDouble)),
        first(torch::zeros_like(w)),
        second(o.name == "adagrad" ? torch::zeros({kRows}, torch::kDouble) : torch::zeros_like(w)) {
  }

  void step(const at::Tensor& gradient) {
    ++steps;
    at::Tensor rows, g;
    if (gradient.is_sparse()) {
      const auto c = gradient.coalesce();
      rows = c._indices()[0];
      g = c._values().to(torch::kDouble);
    } else {
      rows = torch::arange(kRows);
      g = gradient.to(torch::kDouble);
    }
    const double t = static_cast<double>(steps);
    for (int64_t k = 0; k < rows.size(0); ++k) {
      const int64_t r = rows[k].item<int64_t>();
      auto wr = w[r];
      auto gr = g[k].clone();
      if (o.name == "adamw") {
        wr.mul_(1 - o.lr * o.weight_decay);
      } else {
        gr += o.weight_decay * wr;
      }
      if (o.name == "adam" || o.name == "adamw") {
        first[r] = 0.9 * first[r] + 0.1 * gr;
        second[r] = 0.999 * second[r] + 0.001 * gr * gr;
        wr -= o.lr / (1 - std::pow(0.9, t)) * first[r] /
              (second[r].sqrt() / std::sqrt(1 - std::pow(0.999, t)) + 1e-8);
      } else if (o.name == "adagrad") {
        second[r] += gr.pow(2).mean();
        wr -= o.lr * gr / (second[r].sqrt() + 1e-10);
      } else {
        if (o.momentum > 0) {
          first[r] = o.momentum * first[r] + gr;
          gr = first[r].clone();
        }
        wr -= o.lr * gr;
      }
    }
  }
};

using Case = std::tuple<std::string, RowUpdatePath>;
class RowSparseRule : public ::testing::TestWithParam<Case> {};

TEST_P(RowSparseRule, FollowsTheDefinition) {
  const auto& [name, path] = GetParam();
  for (const double momentum : {0.0, 0.9}) {
    if (name != "sgd" && momentum == 0.0) continue;
    const auto options = options_for(name, momentum);
    auto table = torch::randn({kRows, kDim}, torch::requires_grad());
    Reference reference(table.detach(), options);
    RowSparseOptimizer optimizer({table}, options, path);
    for (const auto& g : gradients(6)) {
      table.mutable_grad() = g;
      optimizer.step();
      reference.step(g);
    }
    EXPECT_TRUE(torch::allclose(table.detach().to(torch::kDouble), reference.w, 1e-5, 1e-5))
        << name << " momentum " << momentum << ": max difference "
        << (table.detach().to(torch::kDouble) - reference.w).abs().max().item<double>();
  }
}

INSTANTIATE_TEST_SUITE_P(Optimizers, RowSparseRule,
                         ::testing::Combine(::testing::Values("adam", "adamw", "adagrad", "sgd"),
                                            ::testing::Values(RowUpdatePath::kFused,
                                                              RowUpdatePath::kOperators)),
                         [](const auto& info) {
                           return std::get<0>(info.param) +
                                  (std::get<1>(info.param) == RowUpdatePath::kFused ? "_fused"
                                                                                    : "_operators");
                         });

TEST(RowSparseOptimizer, RowsNotReadStayAsTheyWere) {
  for (const std::string name : {"adam", "adamw", "adagrad", "sgd"}) {
    auto table = torch::randn({kRows, kDim}, torch::requires_grad());
    const auto before = table.detach().clone();
    RowSparseOptimizer optimizer({table}, options_for(name));
    const auto read = torch::tensor({3, 17, 3, 30});
    table.mutable_grad() =
        torch::sparse_coo_tensor(read.unsqueeze(0), torch::randn({4, kDim}), {kRows, kDim});
    optimizer.step();
    const auto changed = (table.detach() != before).any(1);
    EXPECT_TRUE(torch::equal(changed.nonzero().flatten(), torch::tensor({3, 17, 30}))) << name;
  }
}

// Where every row is read at every step, lazy Adam, lazy AdamW and SGD with lazy momentum are
// torch::optim's Adam, AdamW and SGD.
TEST(RowSparseOptimizer, EveryRowReadEqualsTheDenseOptimiser) {
  for (const std::string name : {"adam", "adamw", "sgd"}) {
    auto sparse_table = torch::randn({kRows, kDim}, torch::requires_grad());
    auto dense_table = sparse_table.detach().clone().requires_grad_();
    auto options = options_for(name);
    RowSparseOptimizer row_wise({sparse_table}, options);
    options.embedding_updates = EmbeddingUpdates::kDense;
    auto dense = make_optimizer({dense_table}, options);
    for (int s = 0; s < 5; ++s) {
      const auto g = torch::randn({kRows, kDim});
      sparse_table.mutable_grad() = g.to_sparse(/*sparse_dim=*/1);
      dense_table.mutable_grad() = g;
      row_wise.step();
      dense->step();
    }
    EXPECT_TRUE(torch::allclose(sparse_table, dense_table, 1e-5, 1e-5))
        << name << ": max difference " << (sparse_table - dense_table).abs().max().item<double>();
  }
}

// A state saved and loaded continues bit for bit, through ModelOptimizer's checkpoint layout.
TEST(RowSparseOptimizer, SavedStateContinuesExactly) {
  for (const std::string name : {"adam", "adagrad", "sgd"}) {
    auto table = torch::randn({kRows, kDim}, torch::requires_grad());
    auto dense = torch::randn({3}, torch::requires_grad());
    ModelOptimizer first({dense}, {table}, options_for(name));
    const auto steps = gradients(6);
    auto step = [&](ModelOptimizer& optimizer, at::Tensor& t, at::Tensor& d, const at::Tensor& g) {
      t.mutable_grad() = g;
      d.mutable_grad() = torch::ones({3});
      optimizer.step();
    };
    for (int s = 0; s < 3; ++s) step(first, table, dense, steps[s]);
    torch::serialize::OutputArchive saved;
    first.save(saved);
    std::stringstream bytes;
    saved.save_to(bytes);

    auto table_copy = table.detach().clone().requires_grad_();
    auto dense_copy = dense.detach().clone().requires_grad_();
    ModelOptimizer second({dense_copy}, {table_copy}, options_for(name));
    torch::serialize::InputArchive loaded;
    loaded.load_from(bytes);
    second.load(loaded);
    for (int s = 3; s < 6; ++s) {
      step(first, table, dense, steps[s]);
      step(second, table_copy, dense_copy, steps[s]);
    }
    EXPECT_TRUE(torch::equal(table, table_copy)) << name;
    EXPECT_TRUE(torch::equal(dense, dense_copy)) << name;
  }
}

TEST(RowSparseOptimizer, ACheckpointOfDenseUpdatesIsRefused) {
  auto table = torch::randn({kRows, kDim}, torch::requires_grad());
  auto options = options_for("adam");
  options.embedding_updates = EmbeddingUpdates::kDense;
  ModelOptimizer dense({table}, {}, options);
  torch::serialize::OutputArchive saved;
  dense.save(saved);
  std::stringstream bytes;
  saved.save_to(bytes);
  torch::serialize::InputArchive loaded;
  loaded.load_from(bytes);
  ModelOptimizer row_wise({}, {table}, options_for("adam"));
  EXPECT_CONTAINS(error_of([&] { row_wise.load(loaded); }),
                  "the checkpoint holds no row-sparse optimiser state");
}

TEST(RowSparseGradients, CoalescingSumsRowsReadTwice) {
  auto table = torch::zeros({kRows, kDim}, torch::requires_grad());
  const auto g = lookup_gradient(60);
  table.mutable_grad() = g;
  coalesce_row_sparse_gradients({table});
  EXPECT_TRUE(table.grad().is_coalesced());
  EXPECT_TRUE(torch::allclose(table.grad().to_dense(), g.to_dense(), 1e-5, 1e-6));
}

// Clipping a row-sparse gradient scales it as its dense form would be scaled.
TEST(RowSparseGradients, ClippingMatchesTheDenseGradient) {
  auto sparse_table = torch::zeros({kRows, kDim}, torch::requires_grad());
  auto dense_table = torch::zeros({kRows, kDim}, torch::requires_grad());
  const auto g = lookup_gradient(30);
  sparse_table.mutable_grad() = g;
  dense_table.mutable_grad() = g.to_dense();
  coalesce_row_sparse_gradients({sparse_table});
  const auto sparse_norm = clip_gradient_norm({sparse_table}, 0.5);
  const auto dense_norm = clip_gradient_norm({dense_table}, 0.5);
  EXPECT_NEAR(sparse_norm.item<double>(), dense_norm.item<double>(), 1e-5);
  EXPECT_TRUE(torch::allclose(sparse_table.grad().to_dense(), dense_table.grad(), 1e-6, 1e-6));
  auto uncoalesced = torch::zeros({kRows, kDim}, torch::requires_grad());
  uncoalesced.mutable_grad() = lookup_gradient(5);
  EXPECT_THROW(clip_gradient_norm({uncoalesced}, 1.0), c10::Error);
}

// Every registered model: row-sparse lookups give the same scores, and each embedding table a
// sparse gradient equal to its dense one. The factorisation models have two tables.
TEST(RowSparseGradients, EveryModelGivesSparseGradientsOfTheSameValue) {
  const auto data = testing::random_interactions(30, 50, 5);
  const ModelContext context{30, 50, data.users, data.items};
  std::set<std::string> with_tables;
  for (const auto& info : available_models()) {
    torch::manual_seed(3);
    auto dense = make_model(info.name, context, nlohmann::json::object());
    torch::manual_seed(3);
    auto sparse = make_model(info.name, context, nlohmann::json::object());
    sparse->set_row_sparse_gradients(true);
    const auto dense_tables = dense->embedding_tables();
    const auto sparse_tables = sparse->embedding_tables();
    if (sparse_tables.empty()) continue;
    with_tables.insert(info.name);
    const auto users = torch::randint(30, {16});
    const auto items = torch::randint(50, {16, 3});
    const auto dense_scores = dense->score(users, items);
    const auto sparse_scores = sparse->score(users, items);
    EXPECT_TRUE(torch::equal(dense_scores, sparse_scores)) << info.name;
    dense_scores.pow(2).sum().backward();
    sparse_scores.pow(2).sum().backward();
    for (size_t t = 0; t < sparse_tables.size(); ++t) {
      ASSERT_TRUE(sparse_tables[t].grad().is_sparse()) << info.name << " table " << t;
      EXPECT_TRUE(
          torch::allclose(sparse_tables[t].grad().to_dense(), dense_tables[t].grad(), 1e-6, 1e-6))
          << info.name << " table " << t;
    }
  }
  EXPECT_EQ(with_tables, (std::set<std::string>{"mf", "uprotomf", "iprotomf", "uiprotomf", "acf"}));
}

}  // namespace
}  // namespace polyphony
