#include "engine/train/trainer.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/error.h"
#include "engine/dist/collective.h"
#include "engine/train/checkpoint.h"
#include "engine/train/checkpoint_contents.h"
#include "engine/train/epoch_loss_sums.h"
#include "engine/train/model_optimizer.h"
#include "engine/train/module_state.h"
#include "engine/train/row_sparse_gradients.h"
#include "engine/train/step_graph.h"
#include "kernels/finite_check.h"
#include "kernels/ranking_losses.h"
#include "models/recommender.h"

namespace polyphony {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

// Everything that determines how training continues (a checkpoint is its progress, the loss
// sums, the model and the optimiser), and what only this process needs.
struct Trainer::State : TrainingProgress {
  EpochLossSums losses;  // the epoch's loss sums, and whether every step so far was finite
  // The share of the batch each loss term's backward starts from (kept: one operator less).
  at::Tensor seed;
  double seed_share = 1.0;
  // The captured step's inputs (CUDA graphs): the epoch's order and the batch's first row.
  at::Tensor graph_order, graph_first;
  int64_t graph_warm_up_steps = 0;  // eager full steps before the capture
  std::string last_checkpoint;
  double lr = 0;
};

Trainer::Trainer(Recommender& model, Interactions train, const NegativeSampler& sampler,
                 TrainerOptions options, TrainerHooks hooks)
    : model_(model),
      train_(std::move(train)),
      sampler_(sampler),
      options_(std::move(options)),
      hooks_(std::move(hooks)) {
  check_trainer_options(options_);
  loss_ = *parse_ranking_loss(options_.loss);
  if (model_.trainable() && train_.size() == 0)
    fail("training: there are no training interactions");
  leave_out_users_without_negatives();
  steps_per_epoch_ = (train_.size() + options_.batch_size - 1) / options_.batch_size;
  if (distributed()) {
    const int world = hooks_.collective->world_size();
    if (options_.on_nonfinite == NonFinitePolicy::kRollback)
      fail("`on_nonfinite` rollback works in a single process only (got {} processes)", world);
    if (options_.batch_size < world || train_.size() < world)
      fail(
          "`batch_size` ({}) and the training interactions ({}) must be at least the number of "
          "processes ({})",
          options_.batch_size, train_.size(), world);
  }
  if (!options_.checkpoints.folder.empty())
    checkpoints_ = std::make_unique<CheckpointDirectory>(options_.checkpoints.folder,
                                                         options_.checkpoints.keep_last);
}

Trainer::~Trainer() = default;

void Trainer::leave_out_users_without_negatives() {
  if (!model_.trainable() || train_.size() == 0) return;
  const auto keep = sampler_.has_negatives(train_.users);
  const int64_t kept = keep.sum().item<int64_t>();
  if (kept == train_.size()) return;
  const int64_t users =
      std::get<0>(at::_unique(train_.users.masked_select(keep.logical_not()))).numel();
  if (kept == 0)
    fail(
        "training: no user has an item to sample as a negative ({} users, each with every item "
        "the sampler can draw)",
        users);
  if (hooks_.log)
    hooks_.log(fmt::format(
        "{} users have every item the sampler can draw, so no negative: their {} training "
        "interactions are left out",
        users, train_.size() - kept));
  train_ = train_.select(keep.nonzero().squeeze(1));
}

void Trainer::log(const std::string& message) const {
  if (hooks_.log && main_process()) hooks_.log(message);
}

bool Trainer::distributed() const {
  return hooks_.collective && hooks_.collective->world_size() > 1;
}

bool Trainer::main_process() const { return !distributed() || hooks_.collective->rank() == 0; }

bool Trainer::any_process(bool flag) {
  if (!distributed()) return flag;
  std::vector<at::Tensor> value{
      torch::full({1}, flag ? 1.0f : 0.0f, torch::device(train_.users.device()))};
  hooks_.collective->all_reduce_max(value);
  return value[0].item<float>() > 0;
}

void Trainer::step(State& s) {
  const int64_t n = train_.size();
  const int64_t begin = s.step_in_epoch * options_.batch_size;
  const int64_t global = std::min(n, begin + options_.batch_size) - begin;
  s.lr =
      options_.optimizer.lr * s.lr_scale *
      options_.schedule.factor(s.global_step, steps_per_epoch_, steps_per_epoch_ * options_.epochs);
  optimizer_->set_learning_rate(s.lr);
  // A full batch replays the captured step once the run is warm (a shorter last batch is eager).
  if (graph_ && global == options_.batch_size && graph_step(s, begin)) return;
  optimizer_->zero_grad();
  // Every process draws the whole batch's negatives from the same generator state, so the run
  // equals one process training on the global batch; each then keeps its contiguous share.
  run_step(s, sampler_.draw_batch(s.order, begin, global, train_.users, train_.items,
                                  options_.negatives));
}

bool Trainer::graph_step(State& s, int64_t begin) {
  // Eager steps first: the first allocates the optimiser's state, the step counters and the
  // epoch's sums, which the captured step must find in place.
  constexpr int64_t kWarmUpSteps = 3;
  if (!graph_->captured() && ++s.graph_warm_up_steps <= kWarmUpSteps) return false;
  // The graph's inputs: the epoch's order and the batch's first row, written before each replay.
  if (!s.graph_order.defined()) {
    s.graph_order = at::empty_like(s.order);
    s.graph_first = at::zeros({}, s.order.options());
  }
  if (!s.graph_order.is_same(s.order)) {
    s.graph_order.copy_(s.order);
    s.order = s.graph_order;  // the same values; checkpoints save it as before
  }
  s.graph_first.fill_(begin);
  if (graph_->captured()) {
    graph_->replay();
    optimizer_->count_replayed_step();
    ++s.step_in_epoch;
    ++s.global_step;
    return true;
  }
  optimizer_->zero_grad();  // the captured backward then owns the gradients' memory
  graph_->capture([&] {
    run_step(s, sampler_.draw_batch(s.graph_order, s.graph_first, options_.batch_size, train_.users,
                                    train_.items, options_.negatives));
  });
  log(fmt::format("CUDA graph: the training step is captured (after {} eager steps) and replayed",
                  kWarmUpSteps));
  return true;
}

std::string Trainer::graph_obstacle() const {
  const auto device = train_.users.device();
  if (!device.is_cuda()) return fmt::format("training runs on {}, graphs are CUDA's", device.str());
  if (!StepGraph::available()) return "this build has no CUDA (POLYPHONY_CUDA=OFF)";
  if (distributed()) return "several processes exchange gradients at every step";
  if (options_.clip_grad_norm > 0) return "gradient clipping is not captured yet";
  if (at::globalContext().deterministicAlgorithms())
    return "deterministic algorithms (--deterministic) are not captured yet";
  if (steps_per_epoch_ < 2) return "an epoch has fewer than two steps";
  if (const auto why = optimizer_->graph_capture_obstacle(); !why.empty()) return why;
  if (const auto why = model_.graph_capture_obstacle(); !why.empty())
    return fmt::format("model {}: {}", model_.kind(), why);
  if (!model_.graph_capture_shown() && options_.cuda_graph != CudaGraphMode::kTry)
    return fmt::format(
        "model {}: its step has not yet been shown to replay as a CUDA graph (--cuda-graph try "
        "captures it)",
        model_.kind());
  return "";
}

void Trainer::plan_step_graph() {
  graph_.reset();
  if (options_.cuda_graph == CudaGraphMode::kOff) return;
  const std::string why = graph_obstacle();
  if (!why.empty()) {
    if (options_.cuda_graph == CudaGraphMode::kOn) fail("`cuda_graph` on: {}", why);
    if (train_.users.is_cuda()) log(fmt::format("CUDA graph: off ({})", why));
    return;
  }
  if (!model_.graph_capture_shown())
    log(
        fmt::format("CUDA graph: trying model {}, whose step has not yet been shown to replay "
                    "(--cuda-graph try)",
                    model_.kind()));
  optimizer_->use_device_learning_rate(train_.users.device());
  graph_ = std::make_unique<StepGraph>();
}

void Trainer::run_step(State& s, const DrawnBatch& drawn) {
  const int64_t global = drawn.users.size(0);
  Batch batch{drawn.users, drawn.items};
  double share = 1.0;  // this process's part of the batch-mean loss
  if (distributed()) {
    const auto [from, to] = hooks_.collective->share_of(global);
    batch.users = batch.users.slice(0, from, to);
    batch.items = batch.items.slice(0, from, to);
    share = static_cast<double>(to - from) / static_cast<double>(global);
  }
  if (batch.users.size(0) == 0) {  // a last batch smaller than the number of processes
    synchronize_gradients(s, {}, share);
    return;
  }
  auto objective = model_.training_loss(batch, loss_);
  auto& ranking = objective.ranking;
  // The global batch's sum is its mean times its terms; the shares below make the mean global.
  if (options_.loss_reduction == LossReduction::kSum)
    ranking = ranking * static_cast<double>(loss_terms(loss_, global, options_.negatives));
  std::vector<std::pair<std::string, at::Tensor>> terms{{"ranking", ranking}};
  for (auto& term : objective.terms) terms.emplace_back(std::move(term.name), term.value);
  // Backward from every term at once, each seeded with this process's share of the batch: the
  // gradient of their sum, without operators that add them up.
  if (!s.seed.defined() || s.seed.scalar_type() != ranking.scalar_type() || s.seed_share != share) {
    s.seed = at::full({}, share, ranking.options());
    s.seed_share = share;
  }
  std::vector<at::Tensor> roots, seeds;
  for (const auto& term : terms) {
    if (!term.second.requires_grad()) continue;
    roots.push_back(term.second);
    seeds.push_back(term.second.scalar_type() == s.seed.scalar_type()
                        ? s.seed
                        : s.seed.to(term.second.scalar_type()));
  }
  if (!roots.empty()) torch::autograd::backward(roots, seeds);
  synchronize_gradients(s, terms, share);
}

void Trainer::synchronize_gradients(State& s,
                                    const std::vector<std::pair<std::string, at::Tensor>>& terms,
                                    double share) {
  coalesce_row_sparse_gradients(tables_);
  if (distributed()) {
    std::vector<at::Tensor> grads;
    for (auto& p : dense_parameters_) {
      if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
      grads.push_back(p.grad());
    }
    hooks_.collective->all_reduce_sum(grads);  // bucketed
    all_reduce_row_sparse_gradients(*hooks_.collective, tables_);
  }
  at::Tensor norm;
  if (options_.clip_grad_norm > 0) norm = clip_gradient_norm(parameters_, options_.clip_grad_norm);
  // Device-side bookkeeping, one kernel: no host read here.
  s.losses.add_step(terms, norm, share);
  optimizer_->step();
  ++s.step_in_epoch;
  ++s.global_step;
}

bool Trainer::healthy(const State& s) {
  std::vector<at::Tensor> scanned = dense_parameters_;
  // A row-sparse table changes only where the row updates write, and they report non-finite
  // values themselves: scanning a catalogue of millions of rows at each check would cost more
  // than the steps between checks (docs/benchmarks.md). It is scanned once, for the values it
  // started with.
  bool ok = true;
  if (!tables_.empty()) {
    if (!tables_scanned_) scanned.insert(scanned.end(), tables_.begin(), tables_.end());
    tables_scanned_ = true;
    ok = optimizer_->tables_written_finite().item<bool>();
  }
  ok = ok && s.losses.all_finite() && all_finite(scanned);
  return !any_process(!ok);
}

void Trainer::handle_nonfinite(State& s) {
  const bool loss_bad = !s.losses.all_finite();
  const int64_t epoch = s.epoch + 1;
  std::string where =
      loss_bad ? fmt::format("a non-finite loss{} at step {} (epoch {})",
                             options_.clip_grad_norm > 0 ? " or gradient" : "",
                             s.losses.finite_steps() + 1, epoch)
               : fmt::format("non-finite parameters by step {} (epoch {})", s.global_step, epoch);
  std::vector<std::string> terms;
  const double steps = static_cast<double>(std::max<int64_t>(s.step_in_epoch, 1));
  for (const auto& [name, sum] : s.losses.sums())
    terms.push_back(fmt::format("{} {:.6g}", name, sum.item<double>() / steps));
  const std::string message =
      fmt::format("training diverged: {}; this epoch's mean loss terms: {}", where,
                  terms.empty() ? std::string("none") : fmt::format("{}", fmt::join(terms, ", ")));
  const bool can_roll_back = options_.on_nonfinite == NonFinitePolicy::kRollback &&
                             s.rollbacks < options_.max_rollbacks && checkpoints_;
  if (!can_roll_back) {
    std::string advice;
    if (s.last_checkpoint.empty()) {
      advice = "no checkpoint was written; lower `lr` and start again";
    } else {
      advice = fmt::format(
          "the last good checkpoint is {}; continue from it with `resume` and a lower `lr`{}",
          s.last_checkpoint,
          options_.on_nonfinite == NonFinitePolicy::kStop ? ", or use `on_nonfinite` rollback"
                                                          : "");
    }
    if (options_.on_nonfinite == NonFinitePolicy::kRollback)
      advice = fmt::format("{} rollbacks did not help; {}", s.rollbacks, advice);
    fail("{}; {}", message, advice);
  }
  auto found = checkpoints_->newest_valid(train_.users.device());
  if (!found) fail("{}; no checkpoint to roll back to", message);
  const int64_t rollbacks = s.rollbacks + 1;
  const double lr_scale = s.lr_scale / 2;
  restore(s, found->archive);
  s.rollbacks = rollbacks;
  s.lr_scale = lr_scale;
  s.last_checkpoint = found->path.string();
  log(fmt::format("{}; rolled back to {} (step {}) with the learning rate scaled by {}", message,
                  found->path.string(), s.global_step, lr_scale));
}

std::map<std::string, at::Tensor> Trainer::global_loss_sums(const State& s) {
  std::map<std::string, at::Tensor> sums = s.losses.sums();
  if (distributed()) {
    std::vector<at::Tensor> parts;
    for (auto& entry : sums) parts.push_back(entry.second = entry.second.clone());
    hooks_.collective->all_reduce_sum(parts);  // in place: `sums` holds the same tensors
  }
  return sums;
}

void Trainer::save(State& s, bool step_file, bool best) {
  if (!checkpoints_) return;
  const auto sums = global_loss_sums(s);  // a collective call: every process makes it
  if (!main_process()) return;
  torch::serialize::OutputArchive archive;
  save_state(s, sums, archive);
  if (step_file) {
    s.last_checkpoint = checkpoints_->save(archive, s.global_step, best).string();
  } else if (best) {
    checkpoints_->save_best(archive);
  }
}

void Trainer::save_state(const State& s, const std::map<std::string, at::Tensor>& loss_sums,
                         torch::serialize::OutputArchive& archive) {
  const auto [all_finite, finite_steps] = s.losses.health_for_checkpoint();
  write_training_state(archive, model_, *optimizer_, s, {loss_sums, all_finite, finite_steps},
                       train_.users.device(), options_.checkpoints.metadata.dump());
}

void Trainer::restore(State& s, torch::serialize::InputArchive& archive) {
  const auto device = train_.users.device();
  tables_scanned_ = false;
  // The optimiser's state and the sums are new tensors: a graph would read the old ones.
  if (graph_) graph_->reset();
  s.graph_order = s.graph_first = at::Tensor();
  s.graph_warm_up_steps = 0;
  auto [progress, losses] = read_training_state(archive, model_, *optimizer_, device);
  static_cast<TrainingProgress&>(s) = std::move(progress);
  // With several processes the saved sums are global: rank 0 alone carries them on.
  if (!main_process())
    for (auto& entry : losses.sums) entry.second.zero_();
  s.losses.start(device);
  s.losses.set_health(losses.all_finite, losses.finite_steps);
  s.losses.set_sums(losses.sums);
  if (!s.best_parameters.empty() && s.best_parameters.size() != parameters_.size())
    fail("the checkpoint's best model has {} tensors, the model {}", s.best_parameters.size(),
         parameters_.size());
  if (s.order.defined() && s.order.numel() != train_.size())
    fail("the checkpoint's epoch order covers {} interactions, the training data has {}",
         s.order.numel(), train_.size());
}

int64_t Trainer::start_or_resume(State& s, torch::serialize::InputArchive* resume) {
  const auto device = train_.users.device();
  s.losses.start(device);
  if (resume) {
    restore(s, *resume);
    // A finished run resumed with more epochs goes on.
    if (s.finished && !s.stopped_early && s.epoch < options_.epochs) s.finished = false;
    return s.global_step;
  }
  if (distributed()) {  // identical initialisation: rank 0's
    torch::NoGradGuard no_grad;
    auto state = parameters_;
    for (const auto& b : model_.buffers()) state.push_back(b);
    hooks_.collective->broadcast_from_first(state);
  }
  save(s, /*step_file=*/true, /*best=*/false);  // step 0: always a good state to return to
  return 0;
}

bool Trainer::stop_requested() {
  return any_process(hooks_.stop_requested && hooks_.stop_requested());
}

Trainer::EpochEnd Trainer::run_steps(State& s, int64_t epoch) {
  // Processes agree on stopping: checked every step alone, every kStopPoll steps with several.
  constexpr int64_t kStopPoll = 16;
  while (s.step_in_epoch < steps_per_epoch_) {
    step(s);
    StepProgress progress{epoch, options_.epochs, s.step_in_epoch, steps_per_epoch_, s.global_step,
                          {}};
    const int64_t every = options_.report_losses_every;
    if (every > 0 && s.global_step % every == 0)
      for (const auto& [name, sum] : global_loss_sums(s))
        progress.losses[name] = sum.item<double>() / static_cast<double>(s.step_in_epoch);
    if (hooks_.on_step) hooks_.on_step(progress);
    const bool stop = (!distributed() || s.global_step % kStopPoll == 0) && stop_requested();
    const bool periodic = options_.checkpoints.every_steps > 0 &&
                          s.global_step % options_.checkpoints.every_steps == 0 &&
                          s.step_in_epoch < steps_per_epoch_;
    if (!stop && !periodic) continue;
    // Never write a checkpoint of a diverged state.
    if (!healthy(s)) {
      handle_nonfinite(s);
      return EpochEnd::kRolledBack;
    }
    if (stop) {
      save(s, /*step_file=*/true, /*best=*/false);
      return EpochEnd::kInterrupted;
    }
    save(s, /*step_file=*/true, /*best=*/false);
  }
  if (!healthy(s)) {
    handle_nonfinite(s);
    return EpochEnd::kRolledBack;
  }
  return EpochEnd::kCompleted;
}

EpochRecord Trainer::end_epoch(State& s, int64_t epoch, double seconds, int64_t first_step) {
  const int64_t n = train_.size();
  EpochRecord record;
  record.epoch = epoch;
  for (const auto& [name, sum] : global_loss_sums(s))
    record.losses[name] = sum.item<double>() / static_cast<double>(steps_per_epoch_);
  record.seconds = seconds;
  const int64_t steps_here = s.step_in_epoch - first_step;
  const int64_t interactions_here = n - std::min(n, first_step * options_.batch_size);
  record.interactions_per_second =
      static_cast<double>(interactions_here) / std::max(record.seconds, 1e-9);
  record.step_seconds = record.seconds / static_cast<double>(std::max<int64_t>(steps_here, 1));
  record.lr = s.lr;
  record.global_step = s.global_step;
  s.epoch = epoch;
  s.step_in_epoch = 0;
  s.order = at::Tensor();
  s.losses.clear_sums();
  return record;
}

bool Trainer::validate(State& s, EpochRecord& record) {
  const bool now = hooks_.validate && options_.eval_every > 0 &&
                   (record.epoch % options_.eval_every == 0 || record.epoch == options_.epochs);
  if (!now) return false;
  model_.eval();
  record.validation = hooks_.validate(model_);
  const double value = record.validation->metric(options_.monitor);
  if (!(value > s.best_metric)) {
    ++s.validations_since_best;
    return false;
  }
  s.best_metric = value;
  s.best_epoch = record.epoch;
  s.validations_since_best = 0;
  torch::NoGradGuard no_grad;
  s.best_parameters.clear();
  for (const auto& p : parameters_) s.best_parameters.push_back(p.detach().clone());
  return true;
}

TrainingSummary Trainer::summarize(const State& s, double seconds, bool interrupted) const {
  TrainingSummary summary;
  summary.epochs_run = s.epoch;
  summary.global_steps = s.global_step;
  summary.best_epoch = s.best_epoch;
  summary.best_metric = s.best_epoch ? s.best_metric : 0.0;
  summary.stopped_early = s.stopped_early;
  summary.rollbacks = s.rollbacks;
  summary.last_checkpoint = s.last_checkpoint;
  summary.seconds = seconds;
  summary.interrupted = interrupted;
  return summary;
}

void Trainer::create_optimizer() {
  parameters_ = dense_parameters_ = model_.parameters();
  const bool row_sparse =
      resolve_embedding_updates(options_.optimizer.embedding_updates, model_.embedding_tables()) ==
      EmbeddingUpdates::kRowSparse;
  model_.set_row_sparse_gradients(row_sparse);
  if (row_sparse) {
    tables_ = model_.embedding_tables();
    if (tables_.empty())
      log(
          fmt::format("row-sparse embedding updates: model {} reads no embedding table row by row, "
                      "so its updates stay dense",
                      model_.kind()));
    auto is_table = [&](const at::Tensor& p) {
      return std::any_of(tables_.begin(), tables_.end(), [&](const at::Tensor& t) {
        return t.unsafeGetTensorImpl() == p.unsafeGetTensorImpl();
      });
    };
    dense_parameters_.erase(
        std::remove_if(dense_parameters_.begin(), dense_parameters_.end(), is_table),
        dense_parameters_.end());
  }
  optimizer_ = std::make_unique<ModelOptimizer>(dense_parameters_, tables_, options_.optimizer);
  tables_scanned_ = false;
}

bool Trainer::save_after_epoch(State& s, int64_t epoch, bool improved) {
  const bool periodic =
      options_.checkpoints.every_epochs > 0 && epoch % options_.checkpoints.every_epochs == 0;
  if (periodic || s.finished) {
    save(s, /*step_file=*/true, improved);
  } else if (improved) {
    save(s, /*step_file=*/false, /*best=*/true);
  }
  if (s.finished || !stop_requested()) return false;
  if (!periodic) save(s, /*step_file=*/true, /*best=*/false);
  return true;
}

TrainingSummary Trainer::fit(torch::serialize::InputArchive* resume) {
  const auto start = Clock::now();
  if (!model_.trainable()) {
    TrainingSummary summary;
    summary.seconds = seconds_since(start);
    return summary;
  }
  create_optimizer();
  plan_step_graph();
  State s;
  const int64_t resumed_from_step = start_or_resume(s, resume);
  auto finish = [&](bool interrupted) {
    TrainingSummary summary = summarize(s, seconds_since(start), interrupted);
    summary.resumed_from_step = resumed_from_step;
    return summary;
  };

  while (!s.finished) {
    if (s.epoch >= options_.epochs) {
      s.finished = true;
      break;
    }
    const int64_t epoch = s.epoch + 1;
    if (s.step_in_epoch == 0) {
      s.order = torch::randperm(train_.size(), train_.users.options());
      s.losses.clear_sums();
    }
    model_.train();
    const auto epoch_start = Clock::now();
    const int64_t first_step = s.step_in_epoch;
    const EpochEnd end = run_steps(s, epoch);
    if (end == EpochEnd::kInterrupted) return finish(/*interrupted=*/true);
    if (end == EpochEnd::kRolledBack) continue;

    EpochRecord record = end_epoch(s, epoch, seconds_since(epoch_start), first_step);
    const bool improved = validate(s, record);
    if (hooks_.on_epoch) hooks_.on_epoch(record);
    if (options_.patience > 0 && s.validations_since_best >= options_.patience) {
      s.stopped_early = true;
      s.finished = true;
    }
    if (epoch == options_.epochs) s.finished = true;
    if (save_after_epoch(s, epoch, improved)) return finish(/*interrupted=*/true);
  }
  if (!s.best_parameters.empty()) {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < parameters_.size(); ++i) parameters_[i].copy_(s.best_parameters[i]);
  }
  model_.eval();
  return finish(/*interrupted=*/false);
}

}  // namespace polyphony
