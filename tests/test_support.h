#pragma once
// Small helpers shared by the tests.

#include <torch/torch.h>

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"

#include "engine/data/dataset.h"
#include "models/recommender.h"

// `text` holds `part` (shown in full when it does not).
#define EXPECT_CONTAINS(text, part) EXPECT_NE((text).find(part), std::string::npos) << (text)

namespace polyphony::testing {

// A fresh folder under the system's temporary directory, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "polyphony-test-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  // Writes `contents` to NAME inside the folder and returns its path.
  std::filesystem::path write(const std::string& name, const std::string& contents) const {
    const auto file = path_ / name;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary) << contents;
    return file;
  }

 private:
  std::filesystem::path path_;
};

// Saves the environment variables `names` and unsets them; restores them when it goes out of scope.
class ScopedEnvironment {
 public:
  explicit ScopedEnvironment(const std::vector<std::string>& names) {
    for (const auto& name : names) {
      const char* value = std::getenv(name.c_str());
      saved_.emplace_back(name, value ? std::optional<std::string>(value) : std::nullopt);
      ::unsetenv(name.c_str());
    }
  }
  ~ScopedEnvironment() {
    for (const auto& [name, value] : saved_) {
      if (value) {
        ::setenv(name.c_str(), value->c_str(), 1);
      } else {
        ::unsetenv(name.c_str());
      }
    }
  }
  ScopedEnvironment(const ScopedEnvironment&) = delete;
  ScopedEnvironment& operator=(const ScopedEnvironment&) = delete;

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

// The repository's configs/ folder, found from this header's own path.
inline std::filesystem::path configs_folder() {
  return std::filesystem::path(__FILE__).parent_path().parent_path() / "configs";
}

// The whole contents of `file` ("" when it cannot be read).
inline std::string read_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The message of the polyphony::Error `action` throws ("" and a test failure when none).
inline std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a polyphony::Error";
  return "";
}

// Interactions from (user, item) pairs.
inline Interactions pairs(const std::vector<std::pair<int64_t, int64_t>>& list) {
  std::vector<int64_t> users, items;
  for (const auto& [u, i] : list) {
    users.push_back(u);
    items.push_back(i);
  }
  const auto n = static_cast<int64_t>(list.size());
  return {torch::tensor(users, torch::kLong).view({n}),
          torch::tensor(items, torch::kLong).view({n}),
          {},
          {}};
}

// Random distinct (user, item) pairs: each user gets between 1 and max_per_user items.
inline Interactions random_interactions(int64_t num_users, int64_t num_items,
                                        int64_t max_per_user) {
  std::vector<at::Tensor> users, items;
  for (int64_t u = 0; u < num_users; ++u) {
    const int64_t n = torch::randint(1, max_per_user + 1, {1}).item<int64_t>();
    items.push_back(torch::randperm(num_items).slice(0, 0, n));
    users.push_back(torch::full({n}, u, torch::kLong));
  }
  return {torch::cat(users), torch::cat(items), {}, {}};
}

// A training batch of users [B], their positives [B] and negatives [B, n].
inline Batch batch_of(const at::Tensor& users, const at::Tensor& positives,
                      const at::Tensor& negatives) {
  return {users, at::cat({positives.unsqueeze(1), negatives}, 1)};
}

// A model whose scores are a fixed [users, items] matrix: evaluation tests control every rank.
class FixedScores : public Recommender {
 public:
  explicit FixedScores(at::Tensor scores) : scores_(register_buffer("scores", scores)) {}
  std::string kind() const override { return "fixed"; }
  nlohmann::json config() const override { return nlohmann::json::object(); }
  bool trainable() const override { return false; }
  at::Tensor score(const at::Tensor& users, const at::Tensor& items) override {
    return scores_.index_select(0, users).gather(1, items);
  }
  at::Tensor score_all_items(const at::Tensor& users) override {
    return scores_.index_select(0, users);
  }

 private:
  at::Tensor scores_;
};

}  // namespace polyphony::testing
