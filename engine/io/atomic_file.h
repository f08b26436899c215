#pragma once
// Files that appear whole or not at all: written to a temporary file beside the target, flushed
// to disk (fsync) and renamed over it, so a crash, a full disk or a kill never leaves a
// half-written run file, checkpoint, cache or dataset.

#include <cstdio>
#include <filesystem>
#include <string>

namespace polyphony {

class AtomicFile {
 public:
  // Opens the temporary file `path`.tmpPID (one per process, so writers never share one).
  explicit AtomicFile(std::filesystem::path path);
  // Without commit(): the temporary file is removed and `path` left as it was.
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t size);
  // fflush, fsync, close, rename over the target; errors name the file and the reason.
  const std::filesystem::path& commit();

  const std::filesystem::path& path() const { return path_; }
  const std::filesystem::path& temporary() const { return temporary_; }

 private:
  std::filesystem::path path_, temporary_;
  std::FILE* file_ = nullptr;
};

// Writes `contents` to `path` atomically.
void write_file_atomically(const std::filesystem::path& path, const std::string& contents);

}  // namespace polyphony
