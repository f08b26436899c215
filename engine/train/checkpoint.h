#pragma once
// Checkpoint files and the folder that keeps them.
//
// A file is a fixed header (magic, format version, payload size, xxHash-64 of the payload)
// followed by a LibTorch archive. It is written atomically (temporary file, fsync, rename), so a
// crash leaves either the previous file set or the new one; the checksum catches what the disk
// or a copy damaged later. What goes into the archive: engine/train/checkpoint_contents.h.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <c10/core/Device.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

namespace polyphony {

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

}  // namespace polyphony
