#include "engine/data/id_map.h"

#include <algorithm>

namespace polyphony {
namespace {

// The direct table grows to cover an id only while it stays within 16 slots per known id (plus a
// floor), so sparse or huge ids go to the hash map instead of costing memory.
constexpr int64_t kDirectFloor = 1 << 16;
constexpr int64_t kDirectMax = int64_t{1} << 28;
constexpr int64_t kIndexMax = int64_t{1} << 32;

// A decimal without sign or leading zeros of at most 18 digits: it round-trips through int64.
bool canonical_number(std::string_view id, int64_t& value) {
  if (id.empty() || id.size() > 18 || (id[0] == '0' && id.size() > 1)) return false;
  value = 0;
  for (char c : id) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  return true;
}

}  // namespace

int64_t IdMap::index_of(std::string_view id) {
  const auto next = static_cast<int64_t>(ids_.size());
  int64_t number = 0;
  if (canonical_number(id, number)) return index_of(number);
  std::string key(id);
  const auto [it, inserted] = text_.try_emplace(key, next);
  if (inserted) ids_.push_back(std::move(key));
  return it->second;
}

int64_t IdMap::index_of(int64_t id) {
  const auto next = static_cast<int64_t>(ids_.size());
  if (id < static_cast<int64_t>(direct_.size()) && direct_[id]) return direct_[id] - 1;
  if (id >= static_cast<int64_t>(direct_.size()) && id < kDirectMax && next + 1 < kIndexMax &&
      id < 16 * (next + kDirectFloor) && numeric_.find(id) == numeric_.end())
    direct_.resize(std::min<int64_t>(kDirectMax, std::max<int64_t>(id + 1, 2 * direct_.size())), 0);
  if (id < static_cast<int64_t>(direct_.size()) && numeric_.find(id) == numeric_.end()) {
    direct_[id] = static_cast<uint32_t>(next + 1);
    ids_.push_back(std::to_string(id));
    return next;
  }
  const auto [it, inserted] = numeric_.try_emplace(id, next);
  if (inserted) ids_.push_back(std::to_string(id));
  return it->second;
}

int64_t IdMap::find(std::string_view id) const {
  int64_t number = 0;
  if (canonical_number(id, number)) {
    if (number < static_cast<int64_t>(direct_.size()) && direct_[number])
      return direct_[number] - 1;
    const auto it = numeric_.find(number);
    return it == numeric_.end() ? -1 : it->second;
  }
  const auto it = text_.find(std::string(id));
  return it == text_.end() ? -1 : it->second;
}

std::vector<std::string> IdMap::release_ids() {
  direct_ = {};
  numeric_ = {};
  text_ = {};
  return std::move(ids_);
}

}  // namespace polyphony
