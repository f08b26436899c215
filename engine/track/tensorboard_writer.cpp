#include "engine/track/tensorboard_writer.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iterator>

#include <fmt/format.h>

#include "common/error.h"
#include "engine/io/atomic_file.h"

namespace polyphony {

namespace fs = std::filesystem;

namespace {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string read_whole(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) fail("cannot read {}: {}", file.string(), std::strerror(errno));
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Drops what a resumed run will write again: events after `resumed_step`, the end of the
// session, and a damaged tail.
void cut_back(const fs::path& file, int64_t resumed_step) {
  const std::string bytes = read_whole(file);
  const auto records = tensorboard::read_records(bytes);
  std::string kept;
  bool changed = records.valid_bytes != bytes.size();
  for (const auto& record : records.records) {
    if (tensorboard::kept_on_resume(record, resumed_step))
      kept += tensorboard::frame_record(record);
    else
      changed = true;
  }
  if (changed) write_file_atomically(file, kept);
}

// events.out.tfevents.SECONDS.HOST.N: TensorBoard finds files by "tfevents" and reads them in name
// order; N (the number of files before) keeps a resume made within the same second after them.
fs::path new_event_file(const fs::path& folder, size_t files_before) {
  char host[256] = "localhost";
  gethostname(host, sizeof(host) - 1);
  host[sizeof(host) - 1] = '\0';
  const auto seconds = static_cast<int64_t>(now_seconds());
  return folder / fmt::format("events.out.tfevents.{:010}.{}.{:03}", seconds, host, files_before);
}

}  // namespace

std::vector<fs::path> event_files(const fs::path& folder) {
  std::vector<fs::path> files;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(folder, error))
    if (entry.is_regular_file() &&
        entry.path().filename().string().find("tfevents") != std::string::npos)
      files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

TensorBoardWriter::TensorBoardWriter(const fs::path& folder, std::optional<int64_t> resumed_step) {
  std::error_code error;
  fs::create_directories(folder, error);
  if (error) fail("cannot create {}: {}", folder.string(), error.message());
  const auto existing = event_files(folder);
  if (resumed_step)
    for (const auto& file : existing) cut_back(file, *resumed_step);
  file_ = new_event_file(folder, existing.size());
  out_ = std::fopen(file_.c_str(), "ab");
  if (!out_) fail("cannot write {}: {}", file_.string(), std::strerror(errno));
  write(tensorboard::file_version_event(now_seconds()));
  // Readers drop what they hold from the START's step on: the resumed run writes it again.
  if (resumed_step) write(tensorboard::session_start_event(now_seconds(), *resumed_step + 1));
}

TensorBoardWriter::~TensorBoardWriter() {
  if (out_) std::fclose(out_);
}

void TensorBoardWriter::scalars(int64_t step,
                                const std::vector<std::pair<std::string, double>>& values) {
  if (!values.empty()) write(tensorboard::scalars_event(now_seconds(), step, values));
}

void TensorBoardWriter::session_start(const std::vector<tensorboard::HParam>& hparams,
                                      const std::string& group_name) {
  const double now = now_seconds();
  write(tensorboard::hparams_start_event(now, hparams, group_name, now));
}

void TensorBoardWriter::session_end(int64_t step, bool success) {
  write(tensorboard::hparams_end_event(now_seconds(), step, success));
}

void TensorBoardWriter::write(const std::string& event) {
  const std::string record = tensorboard::frame_record(event);
  if (std::fwrite(record.data(), 1, record.size(), out_) != record.size() || std::fflush(out_) != 0)
    fail("cannot write {}: {}", file_.string(), std::strerror(errno));
}

}  // namespace polyphony
