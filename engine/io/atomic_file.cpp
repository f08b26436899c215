#include "engine/io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "common/error.h"

namespace polyphony {
namespace fs = std::filesystem;

AtomicFile::AtomicFile(fs::path path)
    : path_(std::move(path)), temporary_(path_.string() + fmt::format(".tmp{}", ::getpid())) {
  file_ = std::fopen(temporary_.c_str(), "wb");
  if (!file_) fail("cannot write {}: {}", temporary_.string(), std::strerror(errno));
}

AtomicFile::~AtomicFile() {
  if (!file_) return;
  std::fclose(file_);
  std::error_code ec;
  fs::remove(temporary_, ec);
}

void AtomicFile::write(const void* data, size_t size) {
  if (size && std::fwrite(data, 1, size, file_) != size)
    fail("cannot write {}: {}", temporary_.string(), std::strerror(errno));
}

const fs::path& AtomicFile::commit() {
  const bool written = std::fflush(file_) == 0 && ::fsync(::fileno(file_)) == 0;
  const std::string why = std::strerror(errno);
  const bool closed = std::fclose(file_) == 0;
  file_ = nullptr;
  std::error_code ec;
  if (!written || !closed) {
    fs::remove(temporary_, ec);
    fail("cannot write {}: {}", path_.string(), written ? std::strerror(errno) : why);
  }
  fs::rename(temporary_, path_, ec);
  if (ec) {
    const std::string reason = ec.message();
    fs::remove(temporary_, ec);
    fail("cannot write {}: {}", path_.string(), reason);
  }
  return path_;
}

void write_file_atomically(const fs::path& path, const std::string& contents) {
  AtomicFile file(path);
  file.write(contents.data(), contents.size());
  file.commit();
}

}  // namespace polyphony
