// The trainer: exact resume from a checkpoint taken at any stop, the non-finite guard (stop and
// rollback), early stopping, determinism.

#include <optional>

#include "engine/data/user_item_index.h"
#include "engine/train/checkpoint.h"
#include "engine/train/checkpoint_contents.h"
#include "engine/train/module_state.h"
#include "engine/train/trainer.h"
#include "models/registry.h"
#include "tests/test_support.h"

namespace polyphony {
namespace {

using testing::error_of;
using testing::TempDir;

constexpr int64_t kUsers = 60, kItems = 80;

struct TrainingData {
  Interactions train;
  UserItemIndex index;
  NegativeSampler sampler;
  explicit TrainingData(Interactions t)
      : train(std::move(t)),
        index(train, kUsers, kItems),
        sampler(NegativeSampler::uniform(index)) {}
};

// Fresh random interactions each run: about 390, so 7 steps of 64 per epoch.
TrainingData make_training_data() {
  return TrainingData(testing::random_interactions(kUsers, kItems, 12));
}

// MF with ReSN, whose power iteration keeps a warm-start vector: state beyond the parameters.
std::shared_ptr<Recommender> make_mf(const TrainingData& setup) {
  ModelContext context{kUsers, kItems, setup.train.users, setup.train.items};
  return make_model("mf", context, {{"dim", 8}, {"resn_weight", 0.05}});
}

TrainerOptions options_in(const std::filesystem::path& folder,
                          EmbeddingUpdates updates = EmbeddingUpdates::kDense) {
  TrainerOptions o;
  o.optimizer.embedding_updates = updates;
  o.epochs = 4;
  o.batch_size = 64;
  o.negatives = 2;
  o.eval_every = 1;
  o.checkpoints.folder = folder;
  o.checkpoints.every_steps = 3;
  return o;
}

// A validation score that peaks at epoch 2, so the final model is an earlier epoch's.
EvaluationResult scripted_validation(int64_t& epoch) {
  ++epoch;
  EvaluationResult r;
  r.metrics["NDCG@10"] = epoch == 2 ? 1.0 : 0.5;
  return r;
}

struct Outcome {
  uint64_t fingerprint = 0;
  std::vector<std::map<std::string, double>> losses;  // per epoch, as logged
  TrainingSummary summary;
};

// Trains from `seed` (or resumes the newest checkpoint in `folder`); `stop_after` asks to stop
// after that many steps of this call.
Outcome train(const TrainingData& setup, const std::filesystem::path& folder, uint64_t seed,
              bool resume, std::optional<int64_t> stop_after = std::nullopt,
              EmbeddingUpdates updates = EmbeddingUpdates::kDense) {
  torch::manual_seed(seed);
  auto model = make_mf(setup);
  int64_t validations = 0, steps = 0;
  Outcome outcome;
  TrainerHooks hooks;
  hooks.validate = [&](Recommender&) { return scripted_validation(validations); };
  hooks.on_epoch = [&](const EpochRecord& e) {
    outcome.losses.push_back(e.losses);
    validations = e.epoch;  // a resumed run's validations continue the count
  };
  hooks.on_step = [&](const StepProgress&) { ++steps; };
  hooks.stop_requested = [&] { return stop_after && steps >= *stop_after; };
  Trainer trainer(*model, setup.train, setup.sampler, options_in(folder, updates), hooks);
  std::optional<CheckpointDirectory::Found> found;
  if (resume) {
    found = CheckpointDirectory(folder, 3).newest_valid();
    EXPECT_TRUE(found);
    validations = checkpoint_epoch(found->archive);
  }
  outcome.summary = trainer.fit(found ? &found->archive : nullptr);
  outcome.fingerprint = module_fingerprint(*model);
  return outcome;
}

TEST(Trainer, UsersWithEveryItemAreLeftOutOrRefused) {
  // User 0 has every item: no negative exists for them (the sampler would return positives).
  auto some = testing::random_interactions(kUsers, kItems, 6);
  const auto keep = some.users != 0;
  Interactions train{
      torch::cat({torch::zeros({kItems}, torch::kLong), some.users.masked_select(keep)}),
      torch::cat({torch::arange(kItems), some.items.masked_select(keep)}),
      {},
      {}};
  const TrainingData setup(train);
  auto model = make_mf(setup);
  std::vector<std::string> lines;
  TrainerHooks hooks;
  hooks.log = [&](const std::string& line) { lines.push_back(line); };
  TrainerOptions options;
  options.epochs = 1;
  Trainer trainer(*model, setup.train, setup.sampler, options, hooks);
  EXPECT_EQ(lines, (std::vector<std::string>{fmt::format(
                       "1 users have every item the sampler can draw, so no negative: their {} "
                       "training interactions are left out",
                       kItems)}));
  EXPECT_NO_THROW(trainer.fit());

  // Every user has every item: nothing to train on.
  const auto cells = torch::arange(2 * kItems);
  Interactions full{cells.div(kItems, "floor"), cells.remainder(kItems), {}, {}};
  const TrainingData everything(full);
  auto other = make_mf(everything);
  EXPECT_EQ(error_of([&] { Trainer(*other, everything.train, everything.sampler, options); }),
            "training: no user has an item to sample as a negative (2 users, each with every item "
            "the sampler can draw)");
}

// With dense and with row-sparse embedding updates (the row-wise optimiser's state is in the
// checkpoint too; the model's ReSN term makes the item table's gradient dense, the user table's
// stays sparse).
class TrainerResume : public ::testing::TestWithParam<EmbeddingUpdates> {};

TEST_P(TrainerResume, BitIdenticallyFromAStopAtAnyStep) {
  const EmbeddingUpdates updates = GetParam();
  const TrainingData setup = make_training_data();
  TempDir whole;
  const Outcome reference = train(setup, whole.path(), 7, false, std::nullopt, updates);
  EXPECT_EQ(reference.summary.best_epoch, 2);
  const int64_t steps_per_epoch = (setup.train.size() + 63) / 64;
  // Mid-epoch on a checkpoint step, off it, twice in one run, after the best epoch (2).
  for (const std::vector<int64_t>& stops :
       {std::vector<int64_t>{3}, {5}, {9, 4}, {2 * steps_per_epoch + 2}}) {
    TempDir dir;
    std::optional<Outcome> last;
    bool resume = false;
    for (const int64_t stop : stops) {
      const Outcome part = train(setup, dir.path(), 7, resume, stop, updates);
      EXPECT_TRUE(part.summary.interrupted);
      resume = true;
    }
    // Another seed: everything random must come back from the checkpoint.
    const Outcome rest = train(setup, dir.path(), 1234, true, std::nullopt, updates);
    EXPECT_FALSE(rest.summary.interrupted);
    EXPECT_EQ(rest.summary.global_steps, 4 * steps_per_epoch);
    EXPECT_GE(rest.summary.resumed_from_step, 1);
    EXPECT_EQ(rest.fingerprint, reference.fingerprint) << "stops at " << stops.front();
    ASSERT_LE(rest.losses.size(), reference.losses.size());
    const size_t offset = reference.losses.size() - rest.losses.size();
    for (size_t e = 0; e < rest.losses.size(); ++e)
      EXPECT_EQ(rest.losses[e], reference.losses[offset + e]) << "epoch " << offset + e + 1;
  }
}

INSTANTIATE_TEST_SUITE_P(EmbeddingUpdates, TrainerResume,
                         ::testing::Values(EmbeddingUpdates::kDense, EmbeddingUpdates::kRowSparse),
                         [](const auto& info) {
                           return info.param == EmbeddingUpdates::kDense ? "Dense" : "RowSparse";
                         });

TEST(Trainer, ASummedLossIsTheMeanTimesItsTerms) {
  // One step over the whole data with plain SGD: the sum's gradient is the mean's times the
  // number of (positive, negative) pairs, so the mean at lr·terms takes the same step.
  const TrainingData setup = make_training_data();
  const int64_t positives = setup.train.size(), negatives = 2;
  auto fresh_model = [&] {
    torch::manual_seed(11);
    ModelContext context{kUsers, kItems, setup.train.users, setup.train.items};
    return make_model("mf", context, {{"dim", 8}});
  };
  auto step = [&](LossReduction reduction, double lr) {
    auto model = fresh_model();
    TempDir folder;
    TrainerOptions o = options_in(folder.path());
    o.epochs = 1;
    o.batch_size = positives;
    o.negatives = negatives;
    o.eval_every = 0;
    o.optimizer.name = "sgd";
    o.optimizer.momentum = 0;
    o.optimizer.lr = lr;
    o.loss_reduction = reduction;
    Trainer(*model, setup.train, setup.sampler, o, {}).fit(nullptr);
    return model->parameters();
  };
  const double terms = static_cast<double>(loss_terms("bpr", positives, negatives));
  EXPECT_EQ(terms, static_cast<double>(positives * negatives));
  const auto summed = step(LossReduction::kSum, 1e-3);
  const auto averaged = step(LossReduction::kMean, 1e-3 * terms);
  const auto untouched = fresh_model()->parameters();
  ASSERT_EQ(summed.size(), averaged.size());
  for (size_t k = 0; k < summed.size(); ++k) {
    EXPECT_TRUE(torch::allclose(summed[k], averaged[k], 1e-4, 1e-6)) << k;
    EXPECT_FALSE(torch::allclose(summed[k], untouched[k])) << "the step moved nothing";
  }
}

TEST(Trainer, SameSeedSameModelOtherSeedAnother) {
  const TrainingData setup = make_training_data();
  TempDir a, b, c;
  EXPECT_EQ(train(setup, a.path(), 3, false).fingerprint,
            train(setup, b.path(), 3, false).fingerprint);
  EXPECT_NE(train(setup, a.path() / "x", 3, false).fingerprint,
            train(setup, c.path(), 4, false).fingerprint);
}

TEST(Trainer, AFinishedRunResumedWithMoreEpochsEqualsTheLongerRun) {
  const TrainingData setup = make_training_data();
  TempDir whole, extended;
  const Outcome reference = train(setup, whole.path(), 5, false);
  {
    torch::manual_seed(5);
    auto model = make_mf(setup);
    auto options = options_in(extended.path());
    options.epochs = 2;
    int64_t validations = 0;
    TrainerHooks hooks;
    hooks.validate = [&](Recommender&) { return scripted_validation(validations); };
    EXPECT_EQ(Trainer(*model, setup.train, setup.sampler, options, hooks).fit().epochs_run, 2);
  }
  EXPECT_EQ(train(setup, extended.path(), 99, true).fingerprint, reference.fingerprint);
}

TEST(Trainer, StopsEarlyWithPatienceAndKeepsTheBestEpoch) {
  const TrainingData setup = make_training_data();
  torch::manual_seed(2);
  auto model = make_mf(setup);
  TrainerOptions options;
  options.epochs = 10;
  options.batch_size = 128;
  options.eval_every = 1;
  options.patience = 2;
  double score = 1.0;
  std::vector<at::Tensor> after_first;
  TrainerHooks hooks;
  hooks.validate = [&](Recommender& m) {
    EvaluationResult r;
    r.metrics["NDCG@10"] = (score -= 0.1);  // the first epoch is the best
    if (after_first.empty())
      for (const auto& p : m.parameters()) after_first.push_back(p.detach().clone());
    return r;
  };
  const auto summary = Trainer(*model, setup.train, setup.sampler, options, hooks).fit();
  EXPECT_TRUE(summary.stopped_early);
  EXPECT_EQ(summary.epochs_run, 3);
  EXPECT_EQ(summary.best_epoch, 1);
  const auto parameters = model->parameters();
  for (size_t i = 0; i < parameters.size(); ++i)
    EXPECT_TRUE(torch::equal(parameters[i], after_first[i]));
}

// Scores that turn to NaN on chosen calls of score(): a controlled divergence.
class Diverging : public Recommender {
 public:
  explicit Diverging(std::vector<int64_t> nan_calls)
      : weights_(register_parameter("weights", torch::randn({kItems}))),
        nan_calls_(std::move(nan_calls)) {}
  std::string kind() const override { return "diverging"; }
  nlohmann::json config() const override { return nlohmann::json::object(); }
  at::Tensor score(const at::Tensor&, const at::Tensor& items) override {
    ++calls_;
    auto scores = weights_.index({items});
    if (std::find(nan_calls_.begin(), nan_calls_.end(), calls_) != nan_calls_.end())
      scores = scores * std::numeric_limits<float>::quiet_NaN();
    return scores;
  }
  at::Tensor score_all_items(const at::Tensor& users) override {
    return weights_.unsqueeze(0).expand({users.size(0), kItems}).clone();
  }

 private:
  at::Tensor weights_;
  std::vector<int64_t> nan_calls_;
  int64_t calls_ = 0;
};

// Checkpoints every 2 steps, no validation: a divergence at step 5 has step 4 to go back to.
TrainerOptions diverging_options(const std::filesystem::path& folder) {
  auto options = options_in(folder);
  options.checkpoints.every_steps = 2;
  options.eval_every = 0;
  return options;
}

TEST(Trainer, ANonFiniteLossStopsNamingTheStepTermsAndLastCheckpoint) {
  const TrainingData setup = make_training_data();
  TempDir dir;
  Diverging model({5});
  const auto options = diverging_options(dir.path());
  const std::string message =
      error_of([&] { Trainer(model, setup.train, setup.sampler, options).fit(); });
  EXPECT_CONTAINS(message, "training diverged: a non-finite loss at step 5 (epoch 1)");
  EXPECT_CONTAINS(message, "ranking nan");
  EXPECT_CONTAINS(message,
                  "the last good checkpoint is " + (dir.path() / "step-000000004.ckpt").string());
  // Nothing diverged was written.
  EXPECT_EQ(CheckpointDirectory(dir.path(), 3).list().front().filename(), "step-000000004.ckpt");
}

TEST(Trainer, RollbackReloadsTheLastCheckpointWithAHalvedLearningRate) {
  const TrainingData setup = make_training_data();
  TempDir dir;
  Diverging model({5});
  auto options = diverging_options(dir.path());
  options.on_nonfinite = NonFinitePolicy::kRollback;
  std::vector<std::string> notes;
  std::vector<double> rates;
  TrainerHooks hooks;
  hooks.log = [&](const std::string& note) { notes.push_back(note); };
  hooks.on_epoch = [&](const EpochRecord& e) { rates.push_back(e.lr); };
  const auto summary = Trainer(model, setup.train, setup.sampler, options, hooks).fit();
  EXPECT_EQ(summary.rollbacks, 1);
  EXPECT_EQ(summary.epochs_run, options.epochs);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_CONTAINS(notes[0], "rolled back to " + (dir.path() / "step-000000004.ckpt").string());
  EXPECT_DOUBLE_EQ(rates.back(), options.optimizer.lr / 2);
  EXPECT_TRUE(model.parameters()[0].isfinite().all().item<bool>());

  // Out of rollbacks: the error says so.
  TempDir again;
  Diverging always({5, 6, 7, 8, 9, 10, 11, 12});
  options.checkpoints.folder = again.path();
  options.max_rollbacks = 2;
  EXPECT_CONTAINS(error_of([&] { Trainer(always, setup.train, setup.sampler, options).fit(); }),
                  "2 rollbacks did not help");
}

// An item table whose gradient turns to NaN on chosen calls of score() while the scores, and so
// the loss, stay finite (the square root of 0 has an infinite derivative): only the parameters
// show the divergence.
class DivergingTable : public Recommender {
 public:
  explicit DivergingTable(int64_t nan_call)
      : table_(register_embedding_table("items", torch::randn({kItems, 4}))), nan_call_(nan_call) {}
  std::string kind() const override { return "diverging-table"; }
  nlohmann::json config() const override { return nlohmann::json::object(); }
  at::Tensor score(const at::Tensor&, const at::Tensor& items) override {
    auto rows = embedding_rows(table_, items.reshape(-1));
    if (++calls_ == nan_call_) rows = rows + (rows - rows).sqrt();
    return rows.sum(1).view_as(items);
  }
  at::Tensor score_all_items(const at::Tensor& users) override {
    return table_.sum(1).unsqueeze(0).expand({users.size(0), kItems}).clone();
  }

 private:
  at::Tensor table_;
  int64_t nan_call_;
  int64_t calls_ = 0;
};

class TrainerNonFiniteParameters : public ::testing::TestWithParam<EmbeddingUpdates> {};

// A check after every step, so that step 6's loss (of NaN parameters) does not tell first. Dense
// updates: the scan of the parameters finds it. Row-sparse: the table was scanned at step 1 and is
// not again; the row updates' own report finds it.
TEST_P(TrainerNonFiniteParameters, StopTheRunAtTheNextCheck) {
  const TrainingData setup = make_training_data();
  TempDir dir;
  DivergingTable model(5);
  auto options = diverging_options(dir.path());
  options.checkpoints.every_steps = 1;
  options.optimizer.embedding_updates = GetParam();
  const std::string message =
      error_of([&] { Trainer(model, setup.train, setup.sampler, options).fit(); });
  EXPECT_CONTAINS(message, "training diverged: non-finite parameters by step 5 (epoch 1)");
  EXPECT_CONTAINS(message,
                  "the last good checkpoint is " + (dir.path() / "step-000000004.ckpt").string());
  EXPECT_EQ(CheckpointDirectory(dir.path(), 3).list().front().filename(), "step-000000004.ckpt");
}

INSTANTIATE_TEST_SUITE_P(EmbeddingUpdates, TrainerNonFiniteParameters,
                         ::testing::Values(EmbeddingUpdates::kDense, EmbeddingUpdates::kRowSparse),
                         [](const auto& info) {
                           return info.param == EmbeddingUpdates::kDense ? "Dense" : "RowSparse";
                         });

}  // namespace
}  // namespace polyphony
