// ProtoMF and its regularisers against literal implementations of models.md's formulas in plain
// torch ops, in double precision, on fresh random inputs.

#include <map>
#include <string>
#include <tuple>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "kernels/prototype_regularizers.h"
#include "kernels/ranking_losses.h"
#include "kernels/topk_prototype_filter.h"
#include "models/protomf.h"
#include "models/registry.h"
#include "test_support.h"

namespace polyphony {
namespace {

// sim(a, b) = 1 + cos(a, b) for every row pair, literally.
at::Tensor literal_sim(const at::Tensor& a, const at::Tensor& b) {
  auto out = torch::empty({a.size(0), b.size(0)}, a.options());
  for (int64_t i = 0; i < a.size(0); ++i)
    for (int64_t j = 0; j < b.size(0); ++j)
      out[i][j] = 1 + (a[i] * b[j]).sum() / (a[i].norm() * b[j].norm());
  return out;
}

// Keeps the k largest of each row (ties to the lower index), zeros the rest; k = -1: all.
at::Tensor literal_filter(const at::Tensor& s, int64_t k) {
  if (k < 0 || k >= s.size(1)) return s;
  auto order = std::get<1>(s.detach().sort(/*stable=*/true, 1, /*descending=*/true));
  auto mask = torch::zeros_like(s).scatter(1, order.narrow(1, 0, k), 1.0);
  return s * mask;
}

class ProtoMFFormula : public ::testing::TestWithParam<std::tuple<std::string, int64_t>> {};

TEST_P(ProtoMFFormula, ScoresAndGradientsMatchTheLiteralFormula) {
  const auto [name, k] = GetParam();
  auto train = testing::random_interactions(9, 14, 5);
  ModelContext ctx{9, 14, train.users, train.items};
  auto model = make_model(
      name, ctx,
      {{"dim", 6}, {"user_prototypes", 5}, {"item_prototypes", 4}, {"k_user", k}, {"k_item", k}});
  model->to(torch::kDouble);
  auto users = torch::randint(9, {4}, torch::kLong);
  auto items = torch::randint(14, {4, 3}, torch::kLong);
  auto scores = model->score(users, items);

  // Literal formula on detached copies of the parameters.
  std::map<std::string, at::Tensor> p;
  for (const auto& kv : model->named_parameters())
    p[kv.key()] = kv.value().detach().clone().requires_grad_(true);
  auto expected = torch::zeros({4, 3}, torch::kDouble);
  for (int64_t b = 0; b < 4; ++b) {
    auto u = p["user_embedding"][users[b].item<int64_t>()].unsqueeze(0);
    for (int64_t j = 0; j < 3; ++j) {
      auto t = p["item_embedding"][items[b][j].item<int64_t>()].unsqueeze(0);
      at::Tensor s;
      if (name == "uprotomf") {
        s = (literal_filter(literal_sim(u, p["user_prototypes"]), k) * t).sum();
      } else if (name == "iprotomf") {
        s = (u * literal_filter(literal_sim(t, p["item_prototypes"]), k)).sum();
      } else {
        auto u_star = literal_filter(literal_sim(u, p["user_prototypes"]), k);
        auto t_star = literal_filter(literal_sim(t, p["item_prototypes"]), k);
        auto u_hat = u.mm(p["user_projection.weight"].t());
        auto t_hat = t.mm(p["item_projection.weight"].t());
        s = (u_star * t_hat).sum() + (u_hat * t_star).sum();
      }
      expected[b][j] = s;
    }
  }
  ASSERT_TRUE(torch::allclose(scores, expected, 1e-10, 1e-10)) << scores << expected;
  auto w = torch::randn({4, 3}, torch::kDouble);
  (scores * w).sum().backward();
  (expected * w).sum().backward();
  for (const auto& kv : model->named_parameters()) {
    auto got = kv.value().grad();
    auto want = p[kv.key()].grad();
    if (!want.defined()) want = torch::zeros_like(kv.value());
    if (!got.defined()) got = torch::zeros_like(kv.value());
    EXPECT_TRUE(torch::allclose(got, want, 1e-9, 1e-10)) << name << " gradient of " << kv.key();
  }
  // Full ranking agrees with pairwise scoring.
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::allclose(model->score_all_items(users).gather(1, items), scores.detach(),
                              1e-10, 1e-10));
}

INSTANTIATE_TEST_SUITE_P(Models, ProtoMFFormula,
                         ::testing::Combine(::testing::Values("uprotomf", "iprotomf", "uiprotomf"),
                                            ::testing::Values(-1, 2)),
                         [](const auto& info) {
                           return std::get<0>(info.param) +
                                  (std::get<1>(info.param) < 0 ? "_nofilter" : "_k2");
                         });

// A training step as the trainer takes it (training_loss: the sides once per distinct id, one node
// each, the loss in one kernel, the regularisers from the same similarities) against the formulas
// in plain operators per slot: the loss, every regulariser and every parameter's gradient, in
// double precision; ranking_loss and regularization alone agree with it.
TEST(ProtoMF, TrainingStepMatchesThePlainFormulas) {
  const ModelContext ctx{9, 14, torch::zeros({1}, torch::kLong), torch::zeros({1}, torch::kLong)};
  for (const std::string name : {"uprotomf", "iprotomf", "uiprotomf"}) {
    for (const int64_t k : {-1, 3}) {
      for (const auto loss : {RankingLoss::kBpr, RankingLoss::kSoftmax}) {
        auto model = make_model(name, ctx,
                                {{"dim", 6},
                                 {"user_prototypes", 5},
                                 {"item_prototypes", 4},
                                 {"k_user", k},
                                 {"k_item", k},
                                 {"ortho_weight", 0.3}});
        model->to(torch::kDouble);
        // Users and items repeat, so the distinct-id path with slot counts is taken.
        const Batch batch = testing::batch_of(torch::randint(4, {8}, torch::kLong),
                                              torch::randint(14, {8}, torch::kLong),
                                              torch::randint(6, {8, 3}, torch::kLong));
        const auto objective = model->training_loss(batch, loss);
        const auto& ranking = objective.ranking;
        std::map<std::string, at::Tensor> terms;
        at::Tensor total = ranking;
        for (const auto& t : objective.terms) {
          terms[t.name] = t.value;
          total = total + t.value;
        }
        total.backward();

        std::map<std::string, at::Tensor> p;
        for (const auto& kv : model->named_parameters())
          p[kv.key()] = kv.value().detach().clone().requires_grad_(true);
        const auto users = p["user_embedding"].index_select(0, batch.users);
        const auto items = p["item_embedding"].index_select(0, batch.items.reshape(-1));
        at::Tensor user_factor = users, item_factor = items, user_sims, item_sims;
        if (name != "iprotomf")
          user_sims = literal_filter(literal_sim(users, p["user_prototypes"]), k);
        if (name != "uprotomf")
          item_sims = literal_filter(literal_sim(items, p["item_prototypes"]), k);
        if (name == "uprotomf") user_factor = user_sims;
        if (name == "iprotomf") item_factor = item_sims;
        if (name == "uiprotomf") {
          user_factor = torch::cat({user_sims, users.mm(p["user_projection.weight"].t())}, 1);
          item_factor = torch::cat({items.mm(p["item_projection.weight"].t()), item_sims}, 1);
        }
        const auto scores =
            (item_factor.view({8, 4, -1}) * user_factor.unsqueeze(1)).sum(2);  // [B, 1 + n]
        std::map<std::string, at::Tensor> expected;
        const ProtoMFOptions o;
        auto expected_total = ranking_loss(loss, scores);
        auto add = [&](const std::string& term, const at::Tensor& value) {
          expected[term] = value;
          expected_total = expected_total + value;
        };
        if (user_sims.defined()) {
          add("user_proto", o.user_proto_weight * prototypes_to_batch_loss(user_sims));
          add("user_batch", o.user_batch_weight * batch_to_prototypes_loss(user_sims));
          add("user_ortho", 0.3 * orthogonality_loss(p["user_prototypes"], OrthoForm::kDefault));
        }
        if (item_sims.defined()) {
          add("item_proto", o.item_proto_weight * prototypes_to_batch_loss(item_sims));
          add("item_batch", o.item_batch_weight * batch_to_prototypes_loss(item_sims));
          add("item_ortho", 0.3 * orthogonality_loss(p["item_prototypes"], OrthoForm::kDefault));
        }
        expected_total.backward();

        const std::string what = name + " k " + std::to_string(k) + " " + ranking_loss_name(loss);
        EXPECT_NEAR(model->ranking_loss(batch, loss).item<double>(), ranking.item<double>(), 1e-12)
            << what;
        const auto alone = model->regularization(batch);
        ASSERT_EQ(alone.size(), objective.terms.size()) << what;
        for (const auto& t : alone)
          EXPECT_NEAR(t.value.item<double>(), terms.at(t.name).item<double>(), 1e-12) << what;
        EXPECT_NEAR(ranking.item<double>(), ranking_loss(loss, scores).item<double>(), 1e-10)
            << what;
        ASSERT_EQ(terms.size(), expected.size()) << what;
        for (const auto& [term, value] : expected)
          EXPECT_NEAR(terms.at(term).item<double>(), value.item<double>(), 1e-10)
              << what << " " << term;
        for (const auto& kv : model->named_parameters()) {
          auto want = p[kv.key()].grad();
          if (!want.defined()) want = torch::zeros_like(kv.value());
          EXPECT_TRUE(torch::allclose(kv.value().grad(), want, 1e-9, 1e-10))
              << what << " gradient of " << kv.key();
        }
      }
    }
  }
}

// A batch whose items repeat (a positive among its negatives, popular items in many rows) is
// computed once per distinct user and item: the scores and every gradient equal those of scoring
// each slot alone, up to float summation order.
TEST(ProtoMF, RepeatedIdsComputedOnceScoreAsEachSlotAlone) {
  const ModelContext ctx{12, 9, torch::zeros({1}, torch::kLong), torch::zeros({1}, torch::kLong)};
  for (const std::string name : {"uprotomf", "iprotomf", "uiprotomf"}) {
    torch::manual_seed(5);
    auto batched = make_model(name, ctx, {{"dim", 6}, {"k_user", 3}, {"k_item", 3}});
    torch::manual_seed(5);
    auto alone = make_model(name, ctx, {{"dim", 6}, {"k_user", 3}, {"k_item", 3}});
    const auto users = torch::randint(4, {10});     // 10 slots over at most 4 users
    const auto items = torch::randint(9, {10, 4});  // 40 slots over 9 items
    const auto weights = torch::randn({10, 4});
    const auto scores = batched->score(users, items);
    (scores * weights).sum().backward();
    auto reference = torch::zeros({10, 4});
    for (int64_t b = 0; b < 10; ++b)
      for (int64_t j = 0; j < 4; ++j) {
        const auto one = alone->score(users.narrow(0, b, 1), items.narrow(0, b, 1).narrow(1, j, 1));
        (one * weights[b][j]).sum().backward();
        reference[b][j] = one.detach().squeeze();
      }
    EXPECT_TRUE(torch::allclose(scores.detach(), reference, 1e-5, 1e-6)) << name;
    const auto batched_parameters = batched->named_parameters();
    const auto alone_parameters = alone->named_parameters();
    for (const auto& p : batched_parameters) {
      const auto& other = alone_parameters[p.key()];
      ASSERT_TRUE(p.value().grad().defined()) << name << " " << p.key();
      EXPECT_TRUE(torch::allclose(p.value().grad(), other.grad(), 1e-4, 1e-5))
          << name << " " << p.key() << ": max difference "
          << (p.value().grad() - other.grad()).abs().max().item<double>();
    }
  }
}

TEST(PrototypeRegularizers, MatchTheirFormulas) {
  auto s = torch::rand({7, 5}, torch::kDouble) * 2;
  double p_to_b = 0, b_to_p = 0;
  for (int64_t l = 0; l < 5; ++l) p_to_b -= s.select(1, l).max().item<double>() / 5;
  for (int64_t i = 0; i < 7; ++i) b_to_p -= s[i].max().item<double>() / 7;
  EXPECT_NEAR(prototypes_to_batch_loss(s).item<double>(), p_to_b, 1e-12);
  EXPECT_NEAR(batch_to_prototypes_loss(s).item<double>(), b_to_p, 1e-12);

  auto prototypes = torch::randn({6, 4}, torch::kDouble);
  auto cos = literal_sim(prototypes, prototypes) - 1;
  double off_diagonal = 0, official = 0;
  for (int64_t i = 0; i < 6; ++i)
    for (int64_t j = 0; j < 6; ++j) {
      const double c = cos[i][j].item<double>();
      if (i != j) off_diagonal += c * c;
      const double g = (i == j ? 0.0 : c) - (i == j ? 1.0 : 0.0);  // (G − diag G) − I
      official += g * g;
    }
  EXPECT_NEAR(orthogonality_loss(prototypes, OrthoForm::kDefault).item<double>(), off_diagonal,
              1e-10);
  EXPECT_NEAR(orthogonality_loss(prototypes, OrthoForm::kOfficial).item<double>(),
              std::sqrt(official), 1e-10);
}

// With each distinct row once and the number of slots it fills, the regularisers equal those of
// the slots: the max over the batch ignores repeats, the mean over the batch counts them.
TEST(PrototypeRegularizers, DistinctRowsWithSlotCountsEqualTheSlots) {
  const auto distinct = torch::rand({6, 5}, torch::kDouble) * 2;
  const auto slots = torch::tensor({0, 3, 3, 1, 5, 0, 0, 2, 4, 3});
  const auto per_slot = distinct.index_select(0, slots);
  const auto counts = torch::bincount(slots, {}, 6);
  EXPECT_NEAR(batch_to_prototypes_loss(distinct, counts).item<double>(),
              batch_to_prototypes_loss(per_slot).item<double>(), 1e-12);
  EXPECT_NEAR(prototypes_to_batch_loss(distinct).item<double>(),
              prototypes_to_batch_loss(per_slot).item<double>(), 1e-12);
}

// A batch whose items repeat gets the item regularisers of its slots, computed once per item.
TEST(ProtoMF, ItemRegularisersOfRepeatedItemsEqualThoseOfTheSlots) {
  const ModelContext ctx{12, 9, torch::zeros({1}, torch::kLong), torch::zeros({1}, torch::kLong)};
  auto model = make_model("uiprotomf", ctx, {{"dim", 6}, {"k_item", 3}});
  const Batch batch = testing::batch_of(
      torch::randint(12, {10}, torch::kLong), torch::randint(9, {10}, torch::kLong),
      torch::randint(9, {10, 4}, torch::kLong));  // 50 slots over 9 items
  const auto items = batch.items;
  model->score(batch.users, items);
  std::map<std::string, double> terms;
  for (const auto& t : model->regularization(batch)) terms[t.name] = t.value.item<double>();

  const auto parameters = model->named_parameters();
  const auto sims =
      topk_prototype_filter_dense(parameters["item_embedding"].index_select(0, items.reshape(-1)),
                                  parameters["item_prototypes"], 3);  // one row per slot
  const ProtoMFOptions defaults;
  EXPECT_NEAR(terms.at("item_proto"),
              defaults.item_proto_weight * prototypes_to_batch_loss(sims).item<double>(), 1e-5);
  EXPECT_NEAR(terms.at("item_batch"),
              defaults.item_batch_weight * batch_to_prototypes_loss(sims).item<double>(), 1e-5);
}

TEST(ProtoMF, ReportsEachRegulariserSeparately) {
  auto train = testing::random_interactions(8, 10, 4);
  ModelContext ctx{8, 10, train.users, train.items};
  auto model = make_model("uiprotomf", ctx, {{"dim", 4}, {"k_user", 2}, {"ortho_weight", 0.5}});
  const Batch batch =
      testing::batch_of(torch::randint(8, {5}, torch::kLong), torch::randint(10, {5}, torch::kLong),
                        torch::randint(10, {5, 3}, torch::kLong));
  model->score(batch.users, batch.items);
  std::set<std::string> names;
  for (const auto& t : model->regularization(batch)) names.insert(t.name);
  EXPECT_EQ(names, (std::set<std::string>{"user_proto", "user_batch", "user_ortho", "item_proto",
                                          "item_batch", "item_ortho"}));
  EXPECT_THROW(make_model("uiprotomf", ctx, {{"k_user", 0}}), std::exception);
  // A k above the prototype count would mean "off" while the config says otherwise.
  EXPECT_EQ(testing::error_of([&] {
              make_model("uiprotomf", ctx, {{"item_prototypes", 64}, {"k_item", 500}});
            }),
            "model option k_item = 500 exceeds the 64 item prototypes (-1 keeps them all)");
  EXPECT_NO_THROW(make_model("uiprotomf", ctx, {{"item_prototypes", 8}, {"k_item", 8}}));
  EXPECT_THROW(make_model("uiprotomf", ctx, {{"ortho_form", "fancy"}}), std::exception);
}

// The distributing regulariser's weight per side (the cultural-fairness papers search each
// side's on its own): a side's own weight replaces --ortho's there, 0 turns that side's term off,
// and the model's config names a side's weight only when it has one.
TEST(ProtoMF, EachSideHasItsOwnDistributingWeight) {
  const ModelContext ctx{7, 9, torch::zeros({1}, torch::kLong), torch::zeros({1}, torch::kLong)};
  const Batch batch =
      testing::batch_of(torch::randint(7, {5}, torch::kLong), torch::randint(9, {5}, torch::kLong),
                        torch::randint(9, {5, 2}, torch::kLong));
  auto terms_of = [&](const nlohmann::json& options) {
    auto model = make_model("uiprotomf", ctx, options);
    model->to(torch::kDouble);
    std::map<std::string, double> terms;
    for (const auto& t : model->regularization(batch)) terms[t.name] = t.value.item<double>();
    std::map<std::string, at::Tensor> p;
    for (const auto& kv : model->named_parameters()) p[kv.key()] = kv.value().detach();
    return std::tuple{terms, p, model->config()};
  };
  const nlohmann::json base = {{"dim", 4}, {"user_prototypes", 5}, {"item_prototypes", 3}};

  auto options = base;
  options["ortho_weight"] = 0.3;
  options["ortho_item_weight"] = 2.0;
  const auto [terms, p, config] = terms_of(options);
  EXPECT_NEAR(terms.at("user_ortho"),
              0.3 * orthogonality_loss(p.at("user_prototypes"), OrthoForm::kDefault).item<double>(),
              1e-12);
  EXPECT_NEAR(terms.at("item_ortho"),
              2.0 * orthogonality_loss(p.at("item_prototypes"), OrthoForm::kDefault).item<double>(),
              1e-12);
  EXPECT_EQ(config.at("ortho_item_weight"), 2.0);
  EXPECT_FALSE(config.contains("ortho_user_weight"));
  // The config rebuilds the same model.
  auto rebuilt = config;
  EXPECT_EQ(make_model("uiprotomf", ctx, rebuilt)->config(), config);

  options = base;
  options["ortho_user_weight"] = 0.5;  // the item side: ortho_weight, 0
  const auto user_only = std::get<0>(terms_of(options));
  EXPECT_EQ(user_only.count("user_ortho"), 1u);
  EXPECT_EQ(user_only.count("item_ortho"), 0u);
  EXPECT_FALSE(std::get<2>(terms_of(base)).contains("ortho_user_weight"));

  options = base;
  options["ortho_item_weight"] = -1.0;
  EXPECT_THROW(make_model("uiprotomf", ctx, options), std::exception);
  options["ortho_item_weight"] = "high";
  EXPECT_CONTAINS(testing::error_of([&] { make_model("uiprotomf", ctx, options); }),
                  "option 'ortho_item_weight' 'high': expected a number");
}

TEST(ProtoMF, ProjectionsStartAsTheOfficialKaimingUniform) {
  // U(−√(6/d), √(6/d)) as the ProtoMF code's kaiming_uniform_; LibTorch's default would stay
  // within 1/√d = 0.125 here.
  auto train = testing::random_interactions(8, 10, 4);
  ModelContext ctx{8, 10, train.users, train.items};
  auto model = make_model("uiprotomf", ctx,
                          {{"dim", 64}, {"user_prototypes", 100}, {"item_prototypes", 100}});
  const double bound = std::sqrt(6.0 / 64);
  for (const char* name : {"user_projection.weight", "item_projection.weight"}) {
    const auto w = model->named_parameters()[name].detach().to(torch::kDouble);
    EXPECT_EQ(w.sizes(), (std::vector<int64_t>{100, 64})) << name;
    EXPECT_LE(w.abs().max().item<double>(), bound) << name;
    EXPECT_GT(w.abs().max().item<double>(), 0.95 * bound) << name;
    EXPECT_NEAR(w.std().item<double>(), bound / std::sqrt(3.0), 0.05 * bound) << name;
  }
}

}  // namespace
}  // namespace polyphony

#include "models/resn.h"

namespace polyphony {
namespace {

// The three ReSN forms against their literal formulas on a dense score matrix, in double.
TEST(Resn, FormsMatchTheirFormulas) {
  auto u = torch::randn({7, 4}, torch::kDouble).requires_grad_(true);
  auto v = torch::randn({11, 4}, torch::kDouble).requires_grad_(true);
  ResnOptions o;
  o.weight = 0.3;
  o.item_chunk = 4;  // several chunks
  auto y = u.mm(v.t());

  o.form = ResnForm::kPower;
  // Each call runs a few warm-started power iterations, as one training step does; repeated
  // calls on fixed factors converge to σ₁ whatever the spectral gap.
  SpectralWarmStart warm;
  at::Tensor power;
  for (int call = 0; call < 200; ++call) power = resn_term({u, v}, o, &warm);
  auto sigma = std::get<0>(torch::linalg_svdvals(y).max(0));
  EXPECT_NEAR(power.item<double>(), 0.3 / 7 * sigma.item<double>() * sigma.item<double>(), 1e-6);

  o.form = ResnForm::kOfficial;
  auto s = torch::sigmoid(y);
  auto q = (s.sum(0) / s.sum(0).norm()).detach();
  auto official_expected = 0.3 / 7 * s.mv(q).pow(2).sum();
  auto official = resn_term({u, v}, o, nullptr);
  EXPECT_NEAR(official.item<double>(), official_expected.item<double>(), 1e-10);
  auto gu = torch::autograd::grad({official}, {u}, {}, true)[0];
  auto gu_expected = torch::autograd::grad({official_expected}, {u}, {}, true)[0];
  EXPECT_TRUE(torch::allclose(gu, gu_expected, 1e-10, 1e-10));

  o.form = ResnForm::kRatio;
  auto e = torch::ones({7}, torch::kDouble);
  auto ratio_expected = 0.3 / 7 * y.mm(y.t()).mv(e).pow(2).sum() / y.t().mv(e).pow(2).sum();
  EXPECT_NEAR(resn_term({u, v}, o, nullptr).item<double>(), ratio_expected.item<double>(), 1e-9);
}

TEST(Resn, WrapsFactorisedModelsAndRefusesOthers) {
  auto train = testing::random_interactions(8, 10, 4);
  ModelContext ctx{8, 10, train.users, train.items};
  auto model = make_model("mf", ctx, {{"dim", 4}, {"resn_weight", 0.5}});
  const Batch batch =
      testing::batch_of(torch::randint(8, {5}, torch::kLong), torch::randint(10, {5}, torch::kLong),
                        torch::randint(10, {5, 2}, torch::kLong));
  auto terms = model->regularization(batch);
  ASSERT_EQ(terms.size(), 1u);
  EXPECT_EQ(terms[0].name, "resn");
  EXPECT_EQ(model->config()["resn_weight"], 0.5);
  EXPECT_EQ(model->config()["resn_form"], "power");
  EXPECT_THROW(make_model("pop", ctx, {{"resn_weight", 0.5}}), std::exception);
  EXPECT_THROW(make_model("mf", ctx, {{"resn_form", "spectral"}}), std::exception);
}

TEST(Resn, UniqueUsersAndTheOfficialUnnormalisedWeight) {
  auto train = testing::random_interactions(8, 10, 4);
  ModelContext ctx{8, 10, train.users, train.items};
  // A batch where user 3 has three positives: the official code regularises it once.
  const Batch batch = testing::batch_of(torch::tensor({3, 3, 5, 3}), torch::tensor({1, 2, 3, 4}),
                                        torch::tensor({{0}, {6}, {7}, {8}}));
  auto term_of = [&](const nlohmann::json& options) {
    torch::manual_seed(5);  // the same factors for every variant
    auto model = make_model("mf", ctx, options);
    return model->regularization(batch).at(0).value.item<double>();
  };
  const nlohmann::json official = {{"dim", 4}, {"resn_weight", 0.5}, {"resn_form", "official"}};
  auto with = [&](nlohmann::json base, const char* key, bool value) {
    base[key] = value;
    return base;
  };
  // The official form sums over the rows it is given, so dividing by them is what makes the
  // plain weight and the per-user weight differ: by 4 rows, or 2 distinct users.
  const double repeated = term_of(official);
  const double plain = term_of(with(official, "resn_per_user", false));
  EXPECT_NEAR(plain, 4 * repeated, 1e-6 * plain);
  auto unique = with(official, "resn_unique_users", true);
  const double unique_per_user = term_of(unique);
  const double unique_plain = term_of(with(unique, "resn_per_user", false));
  EXPECT_NEAR(unique_plain, 2 * unique_per_user, 1e-6 * unique_plain);
  // Users 3 and 5 once each: the rows of user 3 no longer count thrice.
  torch::manual_seed(5);
  auto model = make_model("mf", ctx, official);
  const auto factors = *model->spectral_factors(torch::tensor({3, 5}));
  ResnOptions o;
  o.weight = 0.5;
  o.form = ResnForm::kOfficial;
  o.per_user = false;
  EXPECT_NEAR(unique_plain, resn_term(factors, o, nullptr).item<double>(), 1e-6 * unique_plain);
  EXPECT_EQ(make_model("mf", ctx, unique)->config()["resn_unique_users"], true);
}

}  // namespace
}  // namespace polyphony
