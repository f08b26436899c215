#pragma once
// What the fuzz targets share: the readers take paths, so each input is written to a file under
// a temporary folder of this process, overwritten by the next input; and a check that stops
// the fuzzer (a finding) when a reader's result breaks its own contract.

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace polyphony::fuzz {

// The folder of this process's inputs, created once and removed when the process exits.
inline const std::filesystem::path& scratch_folder() {
  struct Folder {
    std::filesystem::path path =
        std::filesystem::temp_directory_path() / ("polyphony-fuzz-" + std::to_string(::getpid()));
    Folder() { std::filesystem::create_directories(path); }
    ~Folder() {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    }
  };
  static const Folder folder;
  return folder.path;
}

// Writes `size` bytes to NAME in the scratch folder and returns its path.
inline std::filesystem::path write_scratch(const std::string& name, const uint8_t* data,
                                           size_t size) {
  const auto path = scratch_folder() / name;
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return path;
}

// `base.toml` in the scratch folder, written once: the base config a fuzzed sweep or tune file
// names (`base = "base.toml"`, as their seeds do).
inline const std::filesystem::path& scratch_base_config() {
  static const std::string text = "[model]\nname = \"mf\"\n";
  static const auto path =
      write_scratch("base.toml", reinterpret_cast<const uint8_t*>(text.data()), text.size());
  return path;
}

// A broken contract is a finding: abort so that libFuzzer saves the input.
inline void require(bool condition, const char* what) {
  if (condition) return;
  std::fprintf(stderr, "contract broken: %s\n", what);
  std::abort();
}

}  // namespace polyphony::fuzz
