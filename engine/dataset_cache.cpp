#include "engine/dataset_cache.h"

#include <ATen/ATen.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include <fmt/format.h>
#define XXH_INLINE_ALL  // header-only: nothing to link
#include <xxhash.h>

#include "common/error.h"

namespace polyphony {
namespace {

namespace fs = std::filesystem;

constexpr char kMagic[16] = "POLYPHONY-DATA\n";
constexpr uint32_t kVersion = 1;
constexpr size_t kChunk = size_t{1} << 24;

struct FileCloser {
  void operator()(std::FILE* f) const {
    if (f) std::fclose(f);
  }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

// Sequential writes that keep a running checksum.
class Writer {
 public:
  Writer(std::FILE* file, const fs::path& path) : file_(file), path_(path), state_(XXH3_createState()) {
    XXH3_64bits_reset(state_);
  }
  ~Writer() { XXH3_freeState(state_); }
  void bytes(const void* data, size_t size) {
    if (size && std::fwrite(data, 1, size, file_) != size)
      fail("{}: write failed: {}", path_.string(), std::strerror(errno));
    XXH3_64bits_update(state_, data, size);
  }
  template <typename T>
  void value(const T& v) {
    bytes(&v, sizeof v);
  }
  void tensor(const at::Tensor& t) { bytes(t.contiguous().data_ptr(), t.nbytes()); }
  void strings(const std::vector<std::string>& list) {
    value<uint64_t>(list.size());
    std::vector<uint32_t> lengths;
    lengths.reserve(list.size());
    for (const auto& s : list) lengths.push_back(static_cast<uint32_t>(s.size()));
    bytes(lengths.data(), lengths.size() * sizeof(uint32_t));
    for (const auto& s : list) bytes(s.data(), s.size());
  }
  void finish() {
    const uint64_t checksum = XXH3_64bits_digest(state_);
    if (std::fwrite(&checksum, sizeof checksum, 1, file_) != 1)
      fail("{}: write failed: {}", path_.string(), std::strerror(errno));
  }

 private:
  std::FILE* file_;
  const fs::path& path_;
  XXH3_state_t* state_;
};

// Sequential reads that check sizes against the file and keep the same running checksum.
class Reader {
 public:
  Reader(std::FILE* file, const fs::path& path, uint64_t size)
      : file_(file), path_(path), remaining_(size), state_(XXH3_createState()) {
    XXH3_64bits_reset(state_);
  }
  ~Reader() { XXH3_freeState(state_); }
  void bytes(void* data, size_t size) {
    if (size > remaining_) fail("{}: truncated cache file", path_.string());
    for (size_t done = 0; done < size;) {
      const size_t step = std::min(kChunk, size - done);
      if (std::fread(static_cast<char*>(data) + done, 1, step, file_) != step)
        fail("{}: truncated cache file", path_.string());
      done += step;
    }
    remaining_ -= size;
    XXH3_64bits_update(state_, data, size);
  }
  template <typename T>
  T value() {
    T v;
    bytes(&v, sizeof v);
    return v;
  }
  at::Tensor tensor(at::ScalarType type, int64_t n) {
    auto t = at::empty({n}, at::TensorOptions().dtype(type));
    bytes(t.data_ptr(), t.nbytes());
    return t;
  }
  std::vector<std::string> strings() {
    const auto count = value<uint64_t>();
    if (count > remaining_ / sizeof(uint32_t)) fail("{}: corrupt cache file (bad id count)", path_.string());
    std::vector<uint32_t> lengths(count);
    bytes(lengths.data(), count * sizeof(uint32_t));
    std::vector<std::string> list(count);
    for (uint64_t k = 0; k < count; ++k) {
      list[k].resize(lengths[k]);
      bytes(list[k].data(), lengths[k]);
    }
    return list;
  }
  void finish() {
    const uint64_t expected = XXH3_64bits_digest(state_);
    uint64_t stored = 0;
    if (remaining_ != 0 || std::fread(&stored, sizeof stored, 1, file_) != 1)
      fail("{}: corrupt cache file (unexpected length)", path_.string());
    if (stored != expected) fail("{}: corrupt cache file (checksum mismatch)", path_.string());
  }

 private:
  std::FILE* file_;
  const fs::path& path_;
  uint64_t remaining_;
  XXH3_state_t* state_;
};

std::string hex(const CacheKey& key) {
  std::string out;
  for (uint8_t b : key) out += fmt::format("{:02x}", b);
  return out;
}

}  // namespace

CacheKey dataset_cache_key(const std::vector<fs::path>& files, const std::string& options) {
  XXH3_state_t* state = XXH3_createState();
  XXH3_128bits_reset(state);
  const std::string header = fmt::format("polyphony-cache-v{}\n{}\n", kVersion, options);
  XXH3_128bits_update(state, header.data(), header.size());
  std::vector<char> buffer(kChunk);
  for (const auto& path : files) {
    File file(std::fopen(path.c_str(), "rb"));
    if (!file) {
      XXH3_freeState(state);
      fail("{}: cannot open: {}", path.string(), std::strerror(errno));
    }
    uint64_t size = 0;
    for (size_t got; (got = std::fread(buffer.data(), 1, buffer.size(), file.get())) > 0;) {
      XXH3_128bits_update(state, buffer.data(), got);
      size += got;
    }
    XXH3_128bits_update(state, &size, sizeof size);  // file boundaries are part of the key
  }
  const XXH128_hash_t digest = XXH3_128bits_digest(state);
  XXH3_freeState(state);
  XXH128_canonical_t canonical;
  XXH128_canonicalFromHash(&canonical, digest);
  CacheKey key;
  std::memcpy(key.data(), canonical.digest, key.size());
  return key;
}

fs::path dataset_cache_path(const fs::path& directory, const std::string& kind, const CacheKey& key) {
  return directory / fmt::format("{}-{}.bin", kind, hex(key));
}

void save_dataset_cache(const fs::path& path, const CacheKey& key, const Dataset& d,
                        const PreprocessReport& report) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  if (ec) fail("{}: cannot create the cache folder: {}", path.parent_path().string(), ec.message());
  const fs::path temporary = path.string() + fmt::format(".tmp{}", ::getpid());
  {
    File file(std::fopen(temporary.c_str(), "wb"));
    if (!file) fail("{}: cannot write: {}", temporary.string(), std::strerror(errno));
    Writer w(file.get(), temporary);
    w.bytes(kMagic, sizeof kMagic);
    w.value(kVersion);
    w.bytes(key.data(), key.size());
    const auto& x = d.interactions;
    w.value<int64_t>(d.num_users);
    w.value<int64_t>(d.num_items);
    w.value<int64_t>(x.size());
    const uint8_t flags = (x.weights.defined() ? 1 : 0) | (x.timestamps.defined() ? 2 : 0) |
                          (d.predefined_part.defined() ? 4 : 0);
    w.value(flags);
    w.tensor(x.users);
    w.tensor(x.items);
    if (flags & 1) w.tensor(x.weights);
    if (flags & 2) w.tensor(x.timestamps);
    if (flags & 4) w.tensor(d.predefined_part);
    w.strings(d.user_ids);
    w.strings(d.item_ids);
    for (int64_t v : {report.records, report.below_min_weight, report.duplicates,
                      report.removed_by_counts, report.filter_rounds})
      w.value(v);
    w.finish();
    if (std::fflush(file.get()) != 0 || ::fsync(::fileno(file.get())) != 0)
      fail("{}: cannot flush: {}", temporary.string(), std::strerror(errno));
  }
  fs::rename(temporary, path, ec);
  if (ec) fail("{}: cannot rename the cache into place: {}", path.string(), ec.message());
}

Dataset load_dataset_cache(const fs::path& path, const CacheKey& key, PreprocessReport& report) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec) fail("{}: cannot read the cache: {}", path.string(), ec.message());
  File file(std::fopen(path.c_str(), "rb"));
  if (!file) fail("{}: cannot open: {}", path.string(), std::strerror(errno));
  if (size < sizeof(uint64_t)) fail("{}: truncated cache file", path.string());
  Reader r(file.get(), path, size - sizeof(uint64_t));
  char magic[sizeof kMagic];
  r.bytes(magic, sizeof magic);
  if (std::memcmp(magic, kMagic, sizeof kMagic) != 0) fail("{}: not a Polyphony dataset cache", path.string());
  if (r.value<uint32_t>() != kVersion) fail("{}: cache written by another version", path.string());
  CacheKey stored;
  r.bytes(stored.data(), stored.size());
  if (stored != key) fail("{}: cache of other source files or options", path.string());
  Dataset d;
  d.num_users = r.value<int64_t>();
  d.num_items = r.value<int64_t>();
  const auto n = r.value<int64_t>();
  if (d.num_users < 0 || d.num_items < 0 || n < 0 || static_cast<uint64_t>(n) > size)
    fail("{}: corrupt cache file (bad sizes)", path.string());
  const auto flags = r.value<uint8_t>();
  auto& x = d.interactions;
  x.users = r.tensor(at::kLong, n);
  x.items = r.tensor(at::kLong, n);
  if (flags & 1) x.weights = r.tensor(at::kFloat, n);
  if (flags & 2) x.timestamps = r.tensor(at::kLong, n);
  if (flags & 4) d.predefined_part = r.tensor(at::kByte, n);
  d.user_ids = r.strings();
  d.item_ids = r.strings();
  for (int64_t* v : {&report.records, &report.below_min_weight, &report.duplicates,
                     &report.removed_by_counts, &report.filter_rounds})
    *v = r.value<int64_t>();
  r.finish();
  if (static_cast<int64_t>(d.user_ids.size()) != d.num_users ||
      static_cast<int64_t>(d.item_ids.size()) != d.num_items)
    fail("{}: corrupt cache file (id counts)", path.string());
  return d;
}

}  // namespace polyphony
