#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "common/error.h"
#include "engine/run/run_directory.h"
#include "engine/train/module_state.h"
#include "models/matrix_factorization.h"
#include "models/popularity.h"
#include "models/registry.h"
#include "models/svd_recommender.h"
#include "test_support.h"

namespace polyphony {
namespace {

ModelContext context(int64_t users, int64_t items) {
  auto train = testing::random_interactions(users, items, 6);
  return {users, items, train.users, train.items};
}

TEST(MatrixFactorization, ScoresAndGradientsMatchTheFormulaInDouble) {
  auto ctx = context(13, 29);
  MatrixFactorizationOptions o;
  o.dim = 9;
  MatrixFactorization mf(ctx, o);
  mf.to(torch::kDouble);
  auto users = torch::randint(13, {6}, torch::kLong);
  auto items = torch::randint(29, {6, 4}, torch::kLong);
  auto scores = mf.score(users, items);
  // Literal: s[b][j] = Σ_f U[u_b][f] · V[i_bj][f].
  auto u = mf.user_embedding().detach().clone().requires_grad_(true);
  auto v = mf.item_embedding().detach().clone().requires_grad_(true);
  auto expected = torch::zeros({6, 4}, torch::kDouble);
  for (int64_t b = 0; b < 6; ++b)
    for (int64_t j = 0; j < 4; ++j)
      expected[b][j] = (u[users[b].item<int64_t>()] * v[items[b][j].item<int64_t>()]).sum();
  EXPECT_TRUE(torch::allclose(scores, expected, 1e-12, 1e-12));
  auto weights = torch::randn({6, 4}, torch::kDouble);
  (scores * weights).sum().backward();
  (expected * weights).sum().backward();
  EXPECT_TRUE(torch::allclose(mf.user_embedding().grad(), u.grad(), 1e-12, 1e-12));
  EXPECT_TRUE(torch::allclose(mf.item_embedding().grad(), v.grad(), 1e-12, 1e-12));

  auto all = mf.score_all_items(users);
  EXPECT_TRUE(torch::allclose(all.gather(1, items), scores.detach(), 1e-12, 1e-12));
}

TEST(MatrixFactorization, SavedAndReloadedModelScoresIdentically) {
  auto ctx = context(11, 17);
  auto model = make_model("mf", ctx, {{"dim", 5}});
  const auto dir =
      std::filesystem::temp_directory_path() /
      ("polyphony-model-" + std::to_string(torch::randint(1 << 30, {1}).item<int64_t>()));
  auto run = RunDirectory::create(dir);
  run.save_model("model.pt", *model);
  auto reloaded = make_model("mf", ctx, model->config());
  load_model(dir / "model.pt", *reloaded);
  auto users = torch::arange(11);
  EXPECT_TRUE(torch::equal(model->score_all_items(users), reloaded->score_all_items(users)));

  auto other = make_model("mf", ctx, {{"dim", 6}});
  EXPECT_THROW(load_model(dir / "model.pt", *other), Error);
  EXPECT_THROW(load_model(dir / "missing.pt", *other), Error);
  std::filesystem::remove_all(dir);
}

TEST(Popularity, ScoresAreTrainingCounts) {
  ModelContext ctx{3, 4, torch::tensor({0, 1, 2, 2}, torch::kLong),
                   torch::tensor({1, 1, 1, 3}, torch::kLong)};
  Popularity pop(ctx);
  auto all = pop.score_all_items(torch::tensor({0, 2}, torch::kLong));
  EXPECT_TRUE(torch::equal(
      all, torch::tensor({0., 3., 0., 1., 0., 3., 0., 1.}).view({2, 4}).to(torch::kFloat)));
  EXPECT_FALSE(pop.trainable());
}

TEST(SvdRecommender, ScoresAreTheMeanItemEmbeddingDotTheItem) {
  const int64_t users = 30, items = 40;
  auto train = testing::random_interactions(users, items, 15);
  ModelContext ctx{users, items, train.users, train.items};
  TruncatedSvdOptions o;
  o.rank = 6;
  SvdRecommender model(ctx, o);
  // Literal, in double, from the same embedding.
  auto e = truncated_svd_item_embeddings(train.users, train.items, users, items, o);
  auto scores = model.score_all_items(torch::arange(users));
  auto pairs = torch::randint(items, {users, 5}, torch::kLong);
  auto some = model.score(torch::arange(users), pairs);
  for (int64_t u = 0; u < users; ++u) {
    auto mine = train.items.masked_select(train.users == u);
    auto profile = torch::zeros({o.rank}, torch::kDouble);
    for (int64_t k = 0; k < mine.numel(); ++k) profile += e[mine[k].item<int64_t>()];
    profile /= static_cast<double>(mine.numel());
    for (int64_t i = 0; i < items; ++i) {
      const double expected = profile.dot(e[i]).item<double>();
      EXPECT_NEAR(scores[u][i].item<double>(), expected, 1e-4 * (1 + std::abs(expected)))
          << u << ", " << i;
    }
    for (int64_t j = 0; j < 5; ++j) {
      // The two paths sum in different orders: float rounding, relative to the score's size.
      const double other = scores[u][pairs[u][j].item<int64_t>()].item<double>();
      EXPECT_NEAR(some[u][j].item<double>(), other, 1e-6 * (1 + std::abs(other)));
    }
  }
  EXPECT_FALSE(model.trainable());
  EXPECT_EQ(make_model("svd", ctx, {{"rank", 6}})->config()["rank"], 6);
}

TEST(Registry, RejectsUnknownModelsAndOptions) {
  auto ctx = context(3, 4);
  EXPECT_THROW(make_model("nope", ctx), Error);
  EXPECT_THROW(make_model("mf", ctx, {{"dimension", 4}}), Error);
  EXPECT_THROW(make_model("mf", ctx, {{"dim", "big"}}), Error);
  EXPECT_THROW(make_model("mf", ctx, {{"dim", 0}}), Error);
  EXPECT_EQ(make_model("mf", ctx, {{"dim", 4}})->config()["dim"], 4);
  // Names, types and values are checked without data, as a sweep plans or before data loads.
  EXPECT_THROW(check_model_options("nope", nlohmann::json::object()), Error);
  EXPECT_THROW(check_model_options("mf", {{"dimension", 4}}), Error);
  EXPECT_THROW(check_model_options("uiprotomf", {{"k_user", "all"}}), Error);
  EXPECT_THROW(check_model_options("mf", {{"resn_form", "spiky"}}), Error);
  EXPECT_NO_THROW(check_model_options("uiprotomf", {{"k_user", 4}, {"resn_weight", 0.1}}));
}

TEST(Registry, EveryModelRefusesItsBadValuesWithoutData) {
  const std::vector<std::tuple<std::string, nlohmann::json, std::string>> cases = {
      {"mf", {{"dim", 0}}, "dim must be at least 1 (got 0)"},
      {"mf", {{"init_std", -0.1}}, "init_std must be positive (got -0.1)"},
      {"mf", {{"resn_weight", -1}}, "resn_weight must be non-negative (got -1)"},
      {"uiprotomf", {{"k_user", 65}}, "k_user = 65 exceeds the 64 user prototypes"},
      {"uprotomf", {{"k_user", 0}}, "k_user must be -1 (off) or at least 1 (got 0)"},
      {"iprotomf", {{"item_prototypes", 0}}, "item_prototypes must be at least 1 (got 0)"},
      {"iprotomf", {{"ortho_item_weight", -0.5}}, "must be non-negative (got -0.5)"},
      {"acf", {{"anchors", 0}}, "anchors must be at least 1 (got 0)"},
      {"acf", {{"init_std", 0}}, "init_std must be positive (got 0)"},
      {"lightgcn", {{"layers", -1}}, "layers must be 0 or more (got -1)"},
      {"multi-interest", {{"temperature", 0}}, "temperature must be positive (got 0)"},
      {"svd", {{"oversampling", -5}}, "oversampling must be 0 or more (got -5)"},
      {"svd", {{"min_cooccurrence", 0}}, "min_cooccurrence must be at least 1 (got 0)"},
  };
  for (const auto& [name, options, message] : cases)
    EXPECT_CONTAINS(testing::error_of([&] { check_model_options(name, options); }), message)
        << name << " " << options.dump();
  // A side without prototypes does not read its k: I-ProtoMF keeps any k_user.
  EXPECT_NO_THROW(check_model_options("iprotomf", {{"k_user", 0}}));
  EXPECT_NO_THROW(check_model_options("svd", {{"oversampling", 0}, {"power_iterations", 0}}));
}

TEST(Registry, UnknownOptionsListTheKnownOnesAndTheListSaysWhichModelsTrain) {
  auto ctx = context(6, 8);
  EXPECT_CONTAINS(testing::error_of([&] {
                    make_model("lightgcn", ctx, {{"layer", 2}});
                  }),
                  "model 'lightgcn': unknown option 'layer' (known: decay, dim, init_std, layers)");
  EXPECT_CONTAINS(testing::error_of([&] {
                    make_model("pop", ctx, {{"dim", 2}});
                  }),
                  "model 'pop': unknown option 'dim' (known: none)");
  for (const auto& info : available_models()) {
    const auto options =
        info.name == "svd" ? nlohmann::json{{"rank", 2}} : nlohmann::json::object();
    EXPECT_EQ(make_model(info.name, ctx, options)->trainable(), info.trainable) << info.name;
  }
}

// Every registered model keeps the interface's promise: after a training step, config() names
// only options the registry reads, and config() + the context rebuild a model that, loaded with
// the saved state, scores identically; score and score_all_items agree with their shapes, and
// so do the factor forms a model offers.
TEST(Registry, EveryModelRebuildsFromItsConfigAndKeepsTheScoreContract) {
  const auto ctx = context(12, 15);
  std::vector<std::pair<std::string, nlohmann::json>> cases;
  for (const auto& info : available_models())
    cases.emplace_back(info.name,
                       info.name == "svd" ? nlohmann::json{{"rank", 3}} : nlohmann::json::object());
  cases.emplace_back("mf", nlohmann::json{{"resn_weight", 0.1}});
  cases.emplace_back("uiprotomf",
                     nlohmann::json{{"k_user", 3}, {"k_item", 2}, {"ortho_weight", 1}});
  const auto users = torch::tensor({0, 3, 7, 11}, torch::kLong);
  const auto items = torch::randint(15, {4, 5}, torch::kLong);
  for (const auto& [name, options] : cases) {
    const std::string where = name + " " + options.dump();
    auto model = make_model(name, ctx, options);
    if (model->trainable()) {  // one step, so that the state differs from any initialisation
      const Batch batch = testing::batch_of(users, items.select(1, 0), items.narrow(1, 1, 4));
      auto loss = model->score(users, items).square().mean();
      for (const auto& term : model->regularization(batch)) loss = loss + term.value;
      loss.backward();
      torch::NoGradGuard no_grad;
      for (auto& p : model->parameters())
        if (p.grad().defined()) p.sub_(0.1 * p.grad());
    }
    model->eval();
    const auto config = model->config();
    EXPECT_NO_THROW(check_model_options(name, config)) << where << ": " << config.dump();
    auto rebuilt = make_model(name, ctx, config);
    std::stringstream state;
    torch::serialize::OutputArchive out;
    model->save(out);
    out.save_to(state);
    torch::serialize::InputArchive in;
    in.load_from(state);
    rebuilt->load(in);
    rebuilt->eval();
    EXPECT_EQ(rebuilt->kind(), model->kind()) << where;
    torch::NoGradGuard no_grad;
    const auto scores = model->score(users, items);
    EXPECT_EQ(scores.sizes(), items.sizes()) << where;
    EXPECT_TRUE(torch::equal(rebuilt->score(users, items), scores)) << where;
    const auto all = model->score_all_items(users);
    EXPECT_EQ(all.sizes(), (std::vector<int64_t>{4, 15})) << where;
    // Pairwise and full scoring may sum a score's terms in different orders, so their float
    // rounding is relative to the largest score (terms of hundreds can cancel to a small score).
    const double scale = std::max(1.0, all.abs().max().item<double>());
    EXPECT_TRUE(torch::allclose(all.gather(1, items), scores, 1e-5, 1e-5 * scale)) << where;
    if (auto f = model->score_factors(users)) {
      EXPECT_TRUE(torch::allclose(f->users.mm(f->items.t()), all, 1e-5, 1e-5)) << where;
    }
    if (auto f = model->max_product_factors(users)) {
      auto best = std::get<0>(torch::einsum("bmf,if->bmi", {f->users, f->items}).max(1));
      EXPECT_TRUE(torch::allclose(best, all, 1e-5, 1e-5)) << where;
    }
  }
}

}  // namespace
}  // namespace polyphony

namespace polyphony {
namespace {

TEST(ModelFile, DamagedOrTruncatedFilesAreClearErrors) {
  auto ctx = context(5, 7);
  auto model = make_model("mf", ctx, {{"dim", 3}});
  testing::TempDir dir;
  const auto file = dir.path() / "run" / "model.pt";
  RunDirectory::create(dir.path() / "run").save_model("model.pt", *model);
  auto reloaded = make_model("mf", ctx, {{"dim", 3}});
  load_model(file, *reloaded);
  EXPECT_EQ(module_fingerprint(*reloaded), module_fingerprint(*model));

  // One flipped byte in the middle (a parameter's bytes) is caught by the checksum beside it.
  std::string bytes = testing::read_file(file);
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x40);
  std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
  EXPECT_CONTAINS(testing::error_of([&] { load_model(file, *reloaded); }),
                  file.string() + " is damaged: its xxh64 is ");
  // Without the checksum (a run from before it), a truncated archive is still refused.
  std::filesystem::remove(file.string() + ".xxh64");
  std::filesystem::resize_file(file, bytes.size() / 2);
  EXPECT_CONTAINS(testing::error_of([&] { load_model(file, *reloaded); }), "truncated or corrupt");
}

}  // namespace
}  // namespace polyphony
