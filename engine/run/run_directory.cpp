#include "engine/run/run_directory.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>

#include <fmt/format.h>
#include <torch/nn/module.h>
#include <torch/serialize.h>

#include "common/error.h"
#include "engine/io/atomic_file.h"
#include "engine/io/hashing.h"
#include "engine/train/module_state.h"
#include "models/recommender.h"

namespace polyphony {
namespace fs = std::filesystem;

namespace {

// Takes the exclusive lock on `fd`, waiting a moment for a reader's probe (run_writer holds a
// shared lock for microseconds) but not for another writer. False with errno set otherwise.
bool lock_exclusively(int fd) {
  for (int attempt = 0;; ++attempt) {
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) return true;
    if (errno != EWOULDBLOCK || attempt == 20) return false;
    ::usleep(10000);
  }
}

}  // namespace

// An exclusive flock on run.lock, which holds the owner's process id for the message others get.
class RunDirectory::Lock {
 public:
  explicit Lock(const fs::path& folder) : file_(folder / run_file::kLock) {
    fd_ = ::open(file_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) fail("cannot open {}: {}", file_.string(), std::strerror(errno));
    if (!lock_exclusively(fd_)) {
      const int error = errno;
      std::string owner = "another process";
      char text[32] = {};
      if (::pread(fd_, text, sizeof text - 1, 0) > 0 && std::atoll(text) > 0)
        owner = fmt::format("process {}", std::atoll(text));
      ::close(fd_);
      if (error == EWOULDBLOCK)
        fail("run {} is in use by {} (one process writes a run at a time)", folder.string(), owner);
      fail("cannot lock {}: {}", file_.string(), std::strerror(error));
    }
    const std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, pid.data(), pid.size(), 0) < 0)
      fail("cannot write {}: {}", file_.string(), std::strerror(errno));
  }
  ~Lock() { ::close(fd_); }  // releases the flock
  Lock(const Lock&) = delete;
  Lock& operator=(const Lock&) = delete;

 private:
  fs::path file_;
  int fd_ = -1;
};

std::optional<int64_t> run_writer(const fs::path& path) {
  const int fd = ::open((path / run_file::kLock).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::optional<int64_t> writer;
  // A shared lock is refused only while a writer holds its exclusive one.
  if (::flock(fd, LOCK_SH | LOCK_NB) != 0) {
    char text[32] = {};
    writer = ::pread(fd, text, sizeof text - 1, 0) > 0 ? std::atoll(text) : 0;
  }
  ::close(fd);  // releases the shared lock, if taken
  return writer;
}

void check_new_run_directory(const fs::path& path) {
  std::error_code ec;
  const fs::path where = fs::weakly_canonical(fs::absolute(path, ec), ec);
  const char* home = std::getenv("HOME");
  if (where == where.root_path() || (home && *home && fs::equivalent(where, fs::path(home), ec)))
    fail("`out` {}: a run is not written into {}; name a folder of its own for it", path.string(),
         where == where.root_path() ? "the filesystem root" : "the home directory itself");
  if (fs::exists(path / run_file::kConfigJson, ec))  // before touching a finished run
    fail("run directory {} already holds a run; choose another `out`", path.string());
  if (!fs::exists(path, ec)) return;
  if (!fs::is_directory(path, ec))
    fail("`out` {} is a file, not a folder; choose another `out`", path.string());
  // A run that stopped before its config was written holds its lock file or command.json: it
  // may be started again in place (a sweep retries a failed point so).
  if (fs::exists(path / run_file::kLock, ec) || fs::exists(path / run_file::kCommand, ec)) return;
  auto entries = fs::directory_iterator(path, ec);
  if (ec) fail("cannot read `out` {}: {}", path.string(), ec.message());
  if (entries != fs::directory_iterator())
    fail(
        "`out` {} holds other files ({} first) and is not a run directory of Polyphony: a run "
        "goes into a new or empty folder; choose another `out`",
        path.string(), entries->path().filename().string());
}

RunDirectory RunDirectory::create(const fs::path& path) {
  std::error_code ec;
  check_new_run_directory(path);
  fs::create_directories(path, ec);
  if (ec) fail("cannot create run directory {}: {}", path.string(), ec.message());
  // Locked before the check, so two processes started together cannot both pass it.
  auto lock = std::make_shared<Lock>(path);
  if (fs::exists(path / run_file::kConfigJson, ec))
    fail("run directory {} already holds a run; choose another `out`", path.string());
  return RunDirectory(path, std::move(lock));
}

RunDirectory RunDirectory::open(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) fail("run directory {} does not exist", path.string());
  return RunDirectory(path, std::make_shared<Lock>(path));
}

void RunDirectory::write_json(const std::string& name, const nlohmann::json& value) const {
  write_file_atomically(path_ / name, value.dump(2) + "\n");
}

void RunDirectory::append_json_line(const std::string& name, const nlohmann::json& value) const {
  std::ofstream out(path_ / name, std::ios::app);
  out << value.dump() << "\n";
  out.flush();
  if (!out) fail("cannot append to {}", (path_ / name).string());
}

void RunDirectory::write_lines(const std::string& name,
                               const std::vector<std::string>& lines) const {
  std::string contents;
  for (const auto& line : lines) contents.append(line).push_back('\n');
  write_file_atomically(path_ / name, contents);
}

void RunDirectory::save_model(const std::string& name, Recommender& model) const {
  torch::serialize::OutputArchive archive;
  model.save(archive);
  const std::string bytes = archive_bytes(archive);  // in memory first (see there)
  // The checksum first: a crash between the two leaves no model, not an unverified one.
  write_file_atomically(path_ / (name + run_file::kChecksumSuffix),
                        fmt::format("{:016x}\n", xxh64(bytes.data(), bytes.size())));
  write_file_atomically(path_ / name, bytes);
}

void load_model(const fs::path& path, Recommender& model) {
  if (!fs::exists(path)) fail("model file {} does not exist", path.string());
  std::ifstream in(path, std::ios::binary);
  const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (!in && !in.eof()) fail("cannot read model file {}", path.string());
  // Runs written before the checksum existed have none; every later one is checked.
  const fs::path checksum_file = path.string() + run_file::kChecksumSuffix;
  if (fs::exists(checksum_file)) {
    std::ifstream checksum_in(checksum_file);
    std::string saved;
    checksum_in >> saved;
    const std::string now = fmt::format("{:016x}", xxh64(bytes.data(), bytes.size()));
    if (saved != now)
      fail("model file {} is damaged: its xxh64 is {}, {} says {}", path.string(), now,
           checksum_file.filename().string(), saved.empty() ? "nothing" : saved);
  }
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(bytes.data(), bytes.size());
  } catch (const std::exception&) {  // c10::Error, or TorchScript's importer's own errors
    fail("cannot read model file {}: it is truncated or corrupt", path.string());
  }
  load_module_state(model, archive, "model file " + path.string());
}

}  // namespace polyphony
