#pragma once
// A whole file mapped into memory: reading it costs no copy. A writable mapping is private
// (copy-on-write), so writes through it never reach the file.

#include <cstddef>
#include <cstdint>
#include <filesystem>

namespace polyphony {

class MappedFile {
 public:
  // Maps `path`; an error names the file when it cannot be opened or mapped.
  explicit MappedFile(const std::filesystem::path& path, bool writable = false);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace polyphony
