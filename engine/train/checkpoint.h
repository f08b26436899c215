#pragma once
// Checkpoint files and the folder that keeps them.
//
// A file is a fixed header (magic, format version, payload size, xxHash-64 of the payload)
// followed by a LibTorch archive. It is written atomically (temporary file, fsync, rename), so a
// crash leaves either the previous file set or the new one; the checksum catches what the disk
// or a copy damaged later. The archive holds the model, the optimiser, where training stands
// (TrainingProgress), the loss sums, the random generators and the run's metadata.

#include <cstdint>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>
#include <nlohmann/json.hpp>

namespace torch::nn {
class Module;
}
namespace polyphony {

class ModelOptimizer;

// The checkpoint format this build writes; files of a newer format are refused.
inline constexpr uint32_t kCheckpointFormat = 1;

// The bytes of a checkpoint file that holds `payload` (a serialised archive): the header with its
// checksums, then the payload.
std::string checkpoint_file_bytes(const std::string& payload);

// Writes `archive` to `path` atomically.
void write_checkpoint_file(const std::filesystem::path& path,
                           torch::serialize::OutputArchive& archive);
// Reads and verifies a checkpoint, mapping its tensors to `device`. A missing, truncated, corrupt
// or foreign file is an Error naming the file and what is wrong.
torch::serialize::InputArchive read_checkpoint_file(const std::filesystem::path& path,
                                                    c10::Device device = c10::kCPU);

// A run's checkpoints/ folder: step-<global step>.ckpt files, the newest `keep_last` kept, and
// best.ckpt, the state at the best validation so far.
class CheckpointDirectory {
 public:
  CheckpointDirectory(std::filesystem::path folder, int64_t keep_last);

  const std::filesystem::path& folder() const { return folder_; }

  // Writes step-<step>.ckpt (and best.ckpt when `best`), then removes the oldest beyond
  // keep_last. Returns the written path.
  std::filesystem::path save(torch::serialize::OutputArchive& archive, int64_t step, bool best);
  // Writes only best.ckpt.
  void save_best(torch::serialize::OutputArchive& archive);

  // step-*.ckpt files, newest (highest step) first.
  std::vector<std::filesystem::path> list() const;

  struct Found {
    std::filesystem::path path;
    torch::serialize::InputArchive archive;
    // "FILE: why" for each newer checkpoint that failed verification and was passed over.
    std::vector<std::string> skipped;
    // Move-only, as the archive is (its copy constructor takes a non-const reference, which
    // clang's std::optional rejects unless the copy is deleted outright).
    Found(const Found&) = delete;
    Found& operator=(const Found&) = delete;
    Found(Found&&) = default;
    Found& operator=(Found&&) = default;
  };
  // The newest checkpoint that verifies, or nothing when there is none.
  std::optional<Found> newest_valid(c10::Device device = c10::kCPU) const;

 private:
  void create_folder() const;

  std::filesystem::path folder_;
  int64_t keep_last_;
};

// Where training stands: what a checkpoint holds besides the model, the optimiser, the loss sums
// and the random generators.
struct TrainingProgress {
  int64_t epoch = 0;          // completed epochs
  int64_t step_in_epoch = 0;  // steps done in epoch + 1
  int64_t global_step = 0;
  at::Tensor order;  // epoch + 1's permutation, while it is under way
  double best_metric = -std::numeric_limits<double>::infinity();
  int64_t best_epoch = 0;
  int64_t validations_since_best = 0;
  std::vector<at::Tensor> best_parameters;
  double lr_scale = 1.0;  // halved by each rollback
  int64_t rollbacks = 0;
  bool finished = false;
  bool stopped_early = false;
};

// The epoch's loss sums (over every process) and its finiteness health, as saved.
struct SavedLosses {
  std::map<std::string, at::Tensor> sums;
  at::Tensor all_finite;    // bool scalar: every step so far had a finite loss
  at::Tensor finite_steps;  // int64 scalar: the steps before the first non-finite one
};

// Writes a training state into `archive`: the model's and the optimiser's state, `progress`,
// `losses`, the CPU's and `device`'s default generators, and `metadata` (JSON text).
void write_training_state(torch::serialize::OutputArchive& archive, torch::nn::Module& model,
                          ModelOptimizer& optimizer, const TrainingProgress& progress,
                          const SavedLosses& losses, c10::Device device,
                          const std::string& metadata);

// Reads one back: the model's and the optimiser's state in place, the generators set; the
// progress and the losses returned, their tensors on `device`. A missing or damaged part is an
// Error saying so.
std::pair<TrainingProgress, SavedLosses> read_training_state(
    torch::serialize::InputArchive& archive, torch::nn::Module& model, ModelOptimizer& optimizer,
    c10::Device device);

// The metadata stored in a checkpoint.
nlohmann::json checkpoint_metadata(torch::serialize::InputArchive& checkpoint);
// The number of completed epochs recorded in a checkpoint.
int64_t checkpoint_epoch(torch::serialize::InputArchive& checkpoint);
// The optimiser steps taken when the checkpoint was written.
int64_t checkpoint_step(torch::serialize::InputArchive& checkpoint);

}  // namespace polyphony
