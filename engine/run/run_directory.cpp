#include "engine/run/run_directory.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include <torch/nn/module.h>
#include <torch/serialize.h>

#include "common/error.h"
#include "engine/io/atomic_file.h"
#include "engine/train/module_state.h"
#include "models/recommender.h"

namespace polyphony {
namespace fs = std::filesystem;

RunDirectory RunDirectory::create(const fs::path& path) {
  std::error_code ec;
  if (fs::exists(path / run_file::kConfigJson, ec))
    fail("run directory {} already holds a run; choose another --out", path.string());
  fs::create_directories(path, ec);
  if (ec) fail("cannot create run directory {}: {}", path.string(), ec.message());
  return RunDirectory(path);
}

RunDirectory RunDirectory::open(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) fail("run directory {} does not exist", path.string());
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
  torch::serialize::OutputArchive archive;
  model.save(archive);
  AtomicFile file(path);
  archive.save_to([&](const void* data, size_t size) {
    file.write(data, size);
    return size;
  });
  file.commit();
}

void load_model(const fs::path& path, Recommender& model) {
  if (!fs::exists(path)) fail("model file {} does not exist", path.string());
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path.string());
  } catch (const c10::Error&) {
    fail("cannot read model file {}: it is truncated or corrupt", path.string());
  }
  load_module_state(model, archive, "model file " + path.string());
}

}  // namespace polyphony
