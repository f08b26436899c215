#include "engine/train/checkpoint_contents.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>
#include <torch/nn/module.h>

#include <mutex>

#include <fmt/format.h>

#include "common/error.h"
#include "engine/train/model_optimizer.h"
#include "engine/train/module_state.h"

namespace polyphony {

namespace {

// The default generator of `device`, whose state checkpoints save and restore.
at::Generator default_generator(c10::Device device) {
  return device.is_cpu() ? at::detail::getDefaultCPUGenerator()
                         : at::globalContext().defaultGenerator(device);
}

at::Tensor generator_state(c10::Device device) {
  auto generator = default_generator(device);
  std::lock_guard<std::mutex> lock(generator.mutex());
  return generator.get_state();
}

void set_generator_state(c10::Device device, const at::Tensor& state) {
  auto generator = default_generator(device);
  std::lock_guard<std::mutex> lock(generator.mutex());
  generator.set_state(state.cpu());
}

// A scalar value (int, double, bool) stored with OutputArchive::write(key, IValue).
c10::IValue read_value(torch::serialize::InputArchive& archive, const std::string& key) {
  c10::IValue value;
  archive.read(key, value);
  return value;
}

}  // namespace

void write_training_state(torch::serialize::OutputArchive& archive, torch::nn::Module& model,
                          ModelOptimizer& optimizer, const TrainingProgress& progress,
                          const SavedLosses& losses, c10::Device device,
                          const std::string& metadata) {
  torch::serialize::OutputArchive model_state, optimizer_state, trainer, sums, best, rng;
  model.save(model_state);
  optimizer.save(optimizer_state);
  const auto& p = progress;
  trainer.write("epoch", p.epoch);
  trainer.write("step_in_epoch", p.step_in_epoch);
  trainer.write("global_step", p.global_step);
  if (p.order.defined()) trainer.write("order", p.order, /*is_buffer=*/true);
  for (const auto& [name, sum] : losses.sums) sums.write(name, sum.clone(), /*is_buffer=*/true);
  trainer.write("loss_sums", sums);
  trainer.write("all_finite", losses.all_finite, /*is_buffer=*/true);
  trainer.write("finite_steps", losses.finite_steps, /*is_buffer=*/true);
  trainer.write("best_metric", p.best_metric);
  trainer.write("best_epoch", p.best_epoch);
  trainer.write("validations_since_best", p.validations_since_best);
  trainer.write("lr_scale", p.lr_scale);
  trainer.write("rollbacks", p.rollbacks);
  trainer.write("finished", p.finished);
  trainer.write("stopped_early", p.stopped_early);
  for (size_t i = 0; i < p.best_parameters.size(); ++i)
    best.write(fmt::format("p{}", i), p.best_parameters[i], /*is_buffer=*/true);
  rng.write("cpu", generator_state(c10::kCPU), /*is_buffer=*/true);
  if (!device.is_cpu()) rng.write("device", generator_state(device), /*is_buffer=*/true);
  archive.write("model", model_state);
  archive.write("optimizer", optimizer_state);
  archive.write("trainer", trainer);
  archive.write("best", best);
  archive.write("rng", rng);
  archive.write("metadata", metadata);
}

std::pair<TrainingProgress, SavedLosses> read_training_state(
    torch::serialize::InputArchive& archive, torch::nn::Module& model, ModelOptimizer& optimizer,
    c10::Device device) {
  TrainingProgress p;
  SavedLosses losses;
  try {
    torch::serialize::InputArchive model_state, optimizer_state, trainer, sums, best, rng;
    archive.read("model", model_state);
    load_module_state(model, model_state, "checkpoint");
    archive.read("optimizer", optimizer_state);
    optimizer.load(optimizer_state);
    archive.read("trainer", trainer);
    p.epoch = read_value(trainer, "epoch").toInt();
    p.step_in_epoch = read_value(trainer, "step_in_epoch").toInt();
    p.global_step = read_value(trainer, "global_step").toInt();
    at::Tensor order;
    if (trainer.try_read("order", order, true)) p.order = order.to(device);
    trainer.read("loss_sums", sums);
    for (const auto& name : sums.keys()) {
      at::Tensor sum;
      sums.read(name, sum, true);
      losses.sums.emplace(name, sum.to(device));
    }
    trainer.read("all_finite", losses.all_finite, true);
    trainer.read("finite_steps", losses.finite_steps, true);
    p.best_metric = read_value(trainer, "best_metric").toDouble();
    p.best_epoch = read_value(trainer, "best_epoch").toInt();
    p.validations_since_best = read_value(trainer, "validations_since_best").toInt();
    p.lr_scale = read_value(trainer, "lr_scale").toDouble();
    p.rollbacks = read_value(trainer, "rollbacks").toInt();
    p.finished = read_value(trainer, "finished").toBool();
    p.stopped_early = read_value(trainer, "stopped_early").toBool();
    archive.read("best", best);
    // A fresh tensor each time: reading into a defined tensor overwrites it in place.
    for (at::Tensor t; best.try_read(fmt::format("p{}", p.best_parameters.size()), t, true);
         t = at::Tensor())
      p.best_parameters.push_back(t.to(device));
    archive.read("rng", rng);
    at::Tensor cpu_state, device_state;
    rng.read("cpu", cpu_state, true);
    set_generator_state(c10::kCPU, cpu_state);
    if (!device.is_cpu() && rng.try_read("device", device_state, true))
      set_generator_state(device, device_state);
  } catch (const c10::Error& e) {
    fail("the checkpoint does not hold a complete training state: {}", e.what_without_backtrace());
  }
  return {std::move(p), std::move(losses)};
}

nlohmann::json checkpoint_metadata(torch::serialize::InputArchive& checkpoint) {
  c10::IValue value;
  if (!checkpoint.try_read("metadata", value) || !value.isString())
    fail("the checkpoint has no metadata: it was not written by polyphony train");
  return nlohmann::json::parse(value.toStringRef(), nullptr, /*allow_exceptions=*/false);
}

namespace {

int64_t checkpoint_counter(torch::serialize::InputArchive& checkpoint, const char* name) {
  torch::serialize::InputArchive trainer;
  if (!checkpoint.try_read("trainer", trainer))
    fail("the checkpoint has no training state: it was not written by polyphony train");
  return read_value(trainer, name).toInt();
}

}  // namespace

int64_t checkpoint_epoch(torch::serialize::InputArchive& checkpoint) {
  return checkpoint_counter(checkpoint, "epoch");
}

int64_t checkpoint_step(torch::serialize::InputArchive& checkpoint) {
  return checkpoint_counter(checkpoint, "global_step");
}

}  // namespace polyphony
