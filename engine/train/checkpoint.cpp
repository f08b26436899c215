#include "engine/train/checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>
#include <torch/nn/module.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <mutex>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/error.h"
#include "engine/io/atomic_file.h"
#include "engine/io/hashing.h"
#include "engine/train/model_optimizer.h"
#include "engine/train/module_state.h"

namespace polyphony {
namespace fs = std::filesystem;

namespace {

constexpr char kMagic[8] = {'P', 'O', 'L', 'Y', 'C', 'K', 'P', 'T'};

struct Header {
  char magic[8];
  uint32_t format;
  uint32_t header_check;  // header_check_of(); 0 in checkpoints written before it existed
  uint64_t payload_bytes;
  uint64_t payload_checksum;
};
static_assert(sizeof(Header) == 32);

// A checksum of the other header fields, so a flipped bit there reads as damage, not as a
// "newer format". Never 0.
uint32_t header_check_of(Header header) {
  header.header_check = 0;
  return static_cast<uint32_t>(xxh64(&header, sizeof header)) | 1u;
}

constexpr const char* kStepPrefix = "step-";
constexpr const char* kSuffix = ".ckpt";

// The global step of a step-<N>.ckpt name, or -1 for any other name.
int64_t step_of(const fs::path& path) {
  const std::string name = path.filename().string();
  const std::string prefix = kStepPrefix, suffix = kSuffix;
  if (name.size() <= prefix.size() + suffix.size() || name.rfind(prefix, 0) != 0 ||
      name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
    return -1;
  const std::string digits =
      name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return -1;
  return std::stoll(digits);
}

}  // namespace

std::string checkpoint_file_bytes(const std::string& payload) {
  Header header{};
  std::memcpy(header.magic, kMagic, sizeof kMagic);
  header.format = kCheckpointFormat;
  header.payload_bytes = payload.size();
  header.payload_checksum = xxh64(payload.data(), payload.size());
  header.header_check = header_check_of(header);
  std::string contents(reinterpret_cast<const char*>(&header), sizeof header);
  contents += payload;
  return contents;
}

namespace {

std::string serialize(torch::serialize::OutputArchive& archive) {
  return checkpoint_file_bytes(archive_bytes(archive));
}

}  // namespace

void write_checkpoint_file(const fs::path& path, torch::serialize::OutputArchive& archive) {
  write_file_atomically(path, serialize(archive));
}

torch::serialize::InputArchive read_checkpoint_file(const fs::path& path, c10::Device device) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("checkpoint {}: cannot open it: {}", path.string(), std::strerror(errno));
  const std::string contents((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  Header header{};
  if (contents.size() < sizeof header)
    fail("checkpoint {} is truncated ({} bytes, shorter than its header)", path.string(),
         contents.size());
  std::memcpy(&header, contents.data(), sizeof header);
  if (std::memcmp(header.magic, kMagic, sizeof kMagic) != 0)
    fail("{} is not a polyphony checkpoint", path.string());
  if (header.header_check != 0 && header.header_check != header_check_of(header))
    fail("checkpoint {} is corrupt: its header is damaged", path.string());
  if (header.format > kCheckpointFormat)
    fail(
        "checkpoint {} has format {}, newer than this build of polyphony reads ({}); use the "
        "version that wrote it",
        path.string(), header.format, kCheckpointFormat);
  const uint64_t held = contents.size() - sizeof header;
  if (held != header.payload_bytes)
    fail("checkpoint {} is truncated or padded: its header announces {} bytes, it holds {}",
         path.string(), header.payload_bytes, held);
  const char* payload = contents.data() + sizeof header;
  if (xxh64(payload, held) != header.payload_checksum)
    fail("checkpoint {} is corrupt: its checksum does not match its contents", path.string());
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(payload, held, device);
  } catch (const c10::Error& e) {
    fail("checkpoint {} cannot be read: {}", path.string(), e.what_without_backtrace());
  } catch (const std::exception& e) {
    // TorchScript's importer throws its own errors too (torch::jit::ErrorReport): an archive
    // with the right checksum can still be one no LibTorch reads.
    fail("checkpoint {} cannot be read: {}", path.string(), e.what());
  }
  return archive;
}

CheckpointDirectory::CheckpointDirectory(fs::path folder, int64_t keep_last)
    : folder_(std::move(folder)), keep_last_(keep_last) {
  if (keep_last_ < 1) fail("`keep_checkpoints` must be at least 1 (got {})", keep_last_);
}

void CheckpointDirectory::create_folder() const {
  std::error_code ec;
  fs::create_directories(folder_, ec);
  if (ec) fail("cannot create checkpoint folder {}: {}", folder_.string(), ec.message());
}

fs::path CheckpointDirectory::save(torch::serialize::OutputArchive& archive, int64_t step,
                                   bool best) {
  create_folder();
  const std::string contents = serialize(archive);
  const fs::path path = folder_ / fmt::format("{}{:09}{}", kStepPrefix, step, kSuffix);
  write_file_atomically(path, contents);
  if (best) write_file_atomically(folder_ / "best.ckpt", contents);
  // Retention only after the new file is safely in place.
  const auto files = list();
  std::error_code ec;
  for (size_t i = static_cast<size_t>(keep_last_); i < files.size(); ++i) fs::remove(files[i], ec);
  return path;
}

void CheckpointDirectory::save_best(torch::serialize::OutputArchive& archive) {
  create_folder();
  write_file_atomically(folder_ / "best.ckpt", serialize(archive));
}

std::vector<fs::path> CheckpointDirectory::list() const {
  std::vector<std::pair<int64_t, fs::path>> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(folder_, ec))
    if (const int64_t step = step_of(entry.path()); step >= 0) found.emplace_back(step, entry);
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a > b; });
  std::vector<fs::path> paths;
  for (auto& [step, path] : found) paths.push_back(std::move(path));
  return paths;
}

std::optional<CheckpointDirectory::Found> CheckpointDirectory::newest_valid(
    c10::Device device) const {
  std::vector<std::string> skipped;
  for (const auto& path : list()) {
    try {
      return Found{path, read_checkpoint_file(path, device), skipped};
    } catch (const Error& e) {
      skipped.push_back(e.what());
    }
  }
  if (skipped.empty()) return std::nullopt;
  fail("no valid checkpoint in {}: {}", folder_.string(), fmt::join(skipped, "; "));
}

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
