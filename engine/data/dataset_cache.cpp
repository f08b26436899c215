#include "engine/data/dataset_cache.h"

#include <ATen/ATen.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include <fmt/format.h>

#include "common/error.h"
#include "engine/data/mapped_file.h"
#include "engine/io/atomic_file.h"
#include "engine/io/hashing.h"

namespace polyphony {
namespace {

namespace fs = std::filesystem;

constexpr char kCacheMagic[16] = "POLYPHONY-DATA\n";
constexpr uint32_t kVersion = 3;
constexpr size_t kAlignment = 64;

// Sequential writes that keep a running checksum.
class Writer {
 public:
  explicit Writer(AtomicFile& file) : file_(file) {}
  void bytes(const void* data, size_t size) {
    file_.write(data, size);
    checksum_.update(data, size);
    offset_ += size;
  }
  template <typename T>
  void value(const T& v) {
    bytes(&v, sizeof v);
  }
  // Arrays start on 64-byte boundaries, so the loader can hand out tensors on the mapped file.
  void tensor(const at::Tensor& t) {
    static const char zeros[kAlignment] = {};
    bytes(zeros, (kAlignment - offset_ % kAlignment) % kAlignment);
    bytes(t.contiguous().data_ptr(), t.nbytes());
  }
  void strings(const std::vector<std::string>& list) {
    value<uint64_t>(list.size());
    std::vector<uint32_t> lengths;
    lengths.reserve(list.size());
    for (const auto& s : list) lengths.push_back(static_cast<uint32_t>(s.size()));
    bytes(lengths.data(), lengths.size() * sizeof(uint32_t));
    for (const auto& s : list) bytes(s.data(), s.size());
  }
  void finish() {
    const uint64_t checksum = checksum_.digest64();
    file_.write(&checksum, sizeof checksum);
  }

 private:
  AtomicFile& file_;
  StreamingHash checksum_{HashAlgorithm::kXxh3_64};
  size_t offset_ = 0;
};

// Reads the sections of a mapped cache file in order, with bounds checks. Tensors point into the
// mapping (no copy) and keep it alive.
class Reader {
 public:
  Reader(std::shared_ptr<MappedFile> file, const fs::path& path, size_t end)
      : file_(std::move(file)), path_(path), end_(end) {}
  void bytes(void* out, size_t size) {
    const void* from = take(size);
    if (size > 0) std::memcpy(out, from, size);  // an empty vector's data() may be null
  }
  template <typename T>
  T value() {
    T v;
    bytes(&v, sizeof v);
    return v;
  }
  at::Tensor tensor(at::ScalarType type, int64_t n) {
    const size_t aligned = (at_ + kAlignment - 1) / kAlignment * kAlignment;
    // Checked here: take() measures what is left from at_, which must not pass the end.
    if (aligned > end_) fail("{}: truncated cache file", path_.string());
    at_ = aligned;
    const size_t size = static_cast<size_t>(n) * at::elementSize(type);
    void* data = take(size);
    auto keep = file_;
    return at::from_blob(
        data, {n}, [keep](void*) {}, at::TensorOptions().dtype(type));
  }
  std::vector<std::string> strings() {
    const auto count = value<uint64_t>();
    if (count > (end_ - at_) / sizeof(uint32_t))
      fail("{}: corrupt cache file (bad id count)", path_.string());
    std::vector<uint32_t> lengths(count);
    bytes(lengths.data(), count * sizeof(uint32_t));
    std::vector<std::string> list(count);
    for (uint64_t k = 0; k < count; ++k) {
      const char* text = reinterpret_cast<const char*>(take(lengths[k]));
      list[k].assign(text, lengths[k]);
    }
    return list;
  }
  bool at_end() const { return at_ == end_; }

 private:
  uint8_t* take(size_t size) {
    if (size > end_ - at_) fail("{}: truncated cache file", path_.string());
    uint8_t* p = file_->data() + at_;
    at_ += size;
    return p;
  }
  std::shared_ptr<MappedFile> file_;
  const fs::path& path_;
  size_t end_;
  size_t at_ = 0;
};

std::string hex(const CacheKey& key) {
  std::string out;
  for (uint8_t b : key) out += fmt::format("{:02x}", b);
  return out;
}

}  // namespace

CacheKey dataset_cache_key(const std::vector<fs::path>& files, const std::string& options) {
  StreamingHash hash(HashAlgorithm::kXxh3_128);
  const std::string header = fmt::format("polyphony-cache-v{}\n{}\n", kVersion, options);
  hash.update(header.data(), header.size());
  for (const auto& path : files) {
    const MappedFile file(path);
    hash.update(file.data(), file.size());
    const uint64_t size = file.size();
    hash.update(&size, sizeof size);  // file boundaries are part of the key
  }
  return hash.digest128();
}

fs::path dataset_cache_path(const fs::path& directory, const std::string& kind,
                            const CacheKey& key) {
  return directory / fmt::format("{}-{}.bin", kind, hex(key));
}

void save_dataset_cache(const fs::path& path, const CacheKey& key, const Dataset& d,
                        const PreprocessReport& report) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  if (ec) fail("{}: cannot create the cache folder: {}", path.parent_path().string(), ec.message());
  AtomicFile file(path);
  {
    Writer w(file);
    w.bytes(kCacheMagic, sizeof kCacheMagic);
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
    for (int64_t v : {report.records, report.users_read, report.items_read, report.below_min_weight,
                      report.duplicates, report.removed_by_counts, report.filter_rounds})
      w.value(v);
    w.finish();
  }
  file.commit();
}

namespace {

// The payload's size once the header and checksum of a cache file are checked: nothing of a
// damaged file is interpreted.
size_t checked_payload(const MappedFile& file, const fs::path& path) {
  const size_t size = file.size();
  if (size < sizeof kCacheMagic + sizeof(uint64_t)) fail("{}: truncated cache file", path.string());
  if (std::memcmp(file.data(), kCacheMagic, sizeof kCacheMagic) != 0)
    fail("{}: not a Polyphony dataset cache", path.string());
  const size_t payload = size - sizeof(uint64_t);
  uint64_t stored_checksum = 0;
  std::memcpy(&stored_checksum, file.data() + payload, sizeof stored_checksum);
  if (xxh3_64(file.data(), payload) != stored_checksum)
    fail("{}: corrupt or truncated cache file (checksum mismatch)", path.string());
  return payload;
}

// A file with the right checksum can still be a forgery or a bug's output; indices out of range
// would be read as memory later, so they are checked once here.
void check_indices(const Dataset& d, const fs::path& path) {
  const auto in_range = [](const at::Tensor& t, int64_t end) {
    return t.numel() == 0 || (t.min().item<int64_t>() >= 0 && t.max().item<int64_t>() < end);
  };
  const auto& x = d.interactions;
  if (!in_range(x.users, d.num_users) || !in_range(x.items, d.num_items) ||
      (d.predefined_part.defined() && !in_range(d.predefined_part, 3)))
    fail("{}: corrupt cache file (an index out of range)", path.string());
}

}  // namespace

Dataset load_dataset_cache(const fs::path& path, const CacheKey& key, PreprocessReport& report) {
  auto file = std::make_shared<MappedFile>(path, /*writable=*/true);
  const size_t size = file->size();
  Reader r(file, path, checked_payload(*file, path));
  char magic[sizeof kCacheMagic];
  r.bytes(magic, sizeof magic);
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
  for (int64_t* v :
       {&report.records, &report.users_read, &report.items_read, &report.below_min_weight,
        &report.duplicates, &report.removed_by_counts, &report.filter_rounds})
    *v = r.value<int64_t>();
  if (!r.at_end() || static_cast<int64_t>(d.user_ids.size()) != d.num_users ||
      static_cast<int64_t>(d.item_ids.size()) != d.num_items)
    fail("{}: corrupt cache file (layout)", path.string());
  check_indices(d, path);
  return d;
}

}  // namespace polyphony
