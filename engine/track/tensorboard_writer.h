#pragma once
// A run's TensorBoard event files (RUN/tensorboard/), readable by the stock `tensorboard`.
// Each process that writes the run opens one new file; a resumed run first cuts the earlier
// files back to the step it resumes from, so curves continue without repeated steps.

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/track/tensorboard_events.h"

namespace polyphony {

class TensorBoardWriter {
 public:
  // Creates `folder` and a new event file in it. With `resumed_step`, the events after that step
  // in the files already there are dropped (each file rewritten atomically) and the new file
  // starts with a SessionLog START at the next step. Errors name the file.
  TensorBoardWriter(const std::filesystem::path& folder, std::optional<int64_t> resumed_step);
  ~TensorBoardWriter();
  TensorBoardWriter(const TensorBoardWriter&) = delete;
  TensorBoardWriter& operator=(const TensorBoardWriter&) = delete;

  void scalars(int64_t step, const std::vector<std::pair<std::string, double>>& values);
  void session_start(const std::vector<tensorboard::HParam>& hparams,
                     const std::string& group_name);
  void session_end(int64_t step, bool success);

  const std::filesystem::path& file() const { return file_; }

 private:
  void write(const std::string& event);  // framed, appended and flushed

  std::filesystem::path file_;
  std::FILE* out_ = nullptr;
};

// The event files in `folder`, in the order TensorBoard reads them (by name).
std::vector<std::filesystem::path> event_files(const std::filesystem::path& folder);

}  // namespace polyphony
