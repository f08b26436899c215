#include "engine/train/checkpoint.h"

#include <algorithm>
#include <cstring>
#include <fstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/error.h"
#include "engine/io/atomic_file.h"
#include "engine/io/hashing.h"
#include "engine/train/module_state.h"

namespace polyphony {
namespace fs = std::filesystem;

namespace {

constexpr char kCheckpointMagic[8] = {'P', 'O', 'L', 'Y', 'C', 'K', 'P', 'T'};

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
  std::memcpy(header.magic, kCheckpointMagic, sizeof kCheckpointMagic);
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
  if (std::memcmp(header.magic, kCheckpointMagic, sizeof kCheckpointMagic) != 0)
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

}  // namespace polyphony
