#include "engine/run_directory.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include <fmt/ranges.h>
#include <torch/nn/module.h>
#include <torch/serialize.h>
#include <torch/utils.h>

#include "common/error.h"
#include "models/recommender.h"

namespace polyphony {
namespace fs = std::filesystem;

namespace {

void fsync_and_rename(const fs::path& temporary, const fs::path& path) {
  const int fd = ::open(temporary.c_str(), O_RDONLY);
  if (fd < 0 || ::fsync(fd) != 0) {
    const std::string why = std::strerror(errno);
    if (fd >= 0) ::close(fd);
    fail("cannot write {}: {}", path.string(), why);
  }
  ::close(fd);
  std::error_code ec;
  fs::rename(temporary, path, ec);
  if (ec) fail("cannot write {}: {}", path.string(), ec.message());
}

}  // namespace

void write_file_atomically(const fs::path& path, const std::string& contents) {
  const fs::path temporary = path.string() + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) fail("cannot write {}: {}", temporary.string(), std::strerror(errno));
    out << contents;
    out.flush();
    if (!out) fail("cannot write {}: {}", temporary.string(), std::strerror(errno));
  }
  fsync_and_rename(temporary, path);
}

RunDirectory RunDirectory::create(const fs::path& path) {
  std::error_code ec;
  if (fs::exists(path / "config.resolved.json", ec))
    fail("run directory {} already holds a run; choose another --out", path.string());
  fs::create_directories(path, ec);
  if (ec) fail("cannot create run directory {}: {}", path.string(), ec.message());
  return RunDirectory(path);
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
  const fs::path path = path_ / name;
  const fs::path temporary = path.string() + ".tmp";
  torch::serialize::OutputArchive archive;
  model.save(archive);
  archive.save_to(temporary.string());
  fsync_and_rename(temporary, path);
}

namespace {

// Module::load replaces tensors whatever their shape; this copies into the existing ones and
// refuses a missing tensor or a shape mismatch, so a file from another model never loads.
void load_checked(torch::nn::Module& module, torch::serialize::InputArchive& archive,
                  const fs::path& path, const std::string& prefix) {
  auto copy_in = [&](const std::string& name, at::Tensor& target, bool is_buffer) {
    at::Tensor stored;
    if (!archive.try_read(name, stored, is_buffer))
      fail("model file {} has no tensor '{}{}': it was saved from another model", path.string(),
           prefix, name);
    if (stored.sizes() != target.sizes())
      fail("model file {}: tensor '{}{}' has shape {}, the model expects {}", path.string(), prefix,
           name, fmt::join(stored.sizes(), "x"), fmt::join(target.sizes(), "x"));
    torch::NoGradGuard no_grad;
    target.copy_(stored);
  };
  for (auto& p : module.named_parameters(/*recurse=*/false)) copy_in(p.key(), p.value(), false);
  for (auto& b : module.named_buffers(/*recurse=*/false)) copy_in(b.key(), b.value(), true);
  for (const auto& child : module.named_children()) {
    torch::serialize::InputArchive child_archive;
    if (!archive.try_read(child.key(), child_archive))
      fail("model file {} has no module '{}{}'", path.string(), prefix, child.key());
    load_checked(*child.value(), child_archive, path, prefix + child.key() + ".");
  }
}

}  // namespace

void load_model(const fs::path& path, Recommender& model) {
  if (!fs::exists(path)) fail("model file {} does not exist", path.string());
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path.string());
  } catch (const c10::Error& e) {
    fail("cannot read model file {}: it is truncated or corrupt", path.string());
  }
  load_checked(model, archive, path, "");
}

}  // namespace polyphony
