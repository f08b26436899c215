#pragma once
// Maps external ids of any form ("1193", "user_000639", a MusicBrainz UUID, an artist name in
// any script) to dense indices 0..n-1 in order of first appearance. Canonical decimal ids take a
// fast integer path (a direct table while the ids are dense enough, a hash map beyond); every
// other id is kept as its exact bytes, so "007" and "7" stay distinct.

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace polyphony {

class IdMap {
 public:
  // The index of `id`, adding it when new.
  int64_t index_of(std::string_view id);
  // The index of the non-negative integer id `id` (the same entry as its decimal text).
  int64_t index_of(int64_t id);
  // The index of `id`, or -1 when it is not known.
  int64_t find(std::string_view id) const;

  int64_t size() const { return static_cast<int64_t>(ids_.size()); }
  const std::vector<std::string>& ids() const { return ids_; }
  // Releases the lookup tables and returns the ids in index order.
  std::vector<std::string> release_ids();

 private:
  std::vector<uint32_t> direct_;  // id -> index + 1 (0: not here) for small integer ids
  std::unordered_map<int64_t, int64_t> numeric_;
  std::unordered_map<std::string, int64_t> text_;
  std::vector<std::string> ids_;
};

}  // namespace polyphony
