#include "kernels/entries_by_row.h"

namespace polyphony::kernels {

EntriesByRow group_entries_by_row(const int64_t* index, int64_t count, int64_t rows) {
  EntriesByRow g;
  g.first.assign(rows + 1, 0);
  for (int64_t p = 0; p < count; ++p) ++g.first[index[p] + 1];
  for (int64_t d = 0; d < rows; ++d) g.first[d + 1] += g.first[d];
  g.entries.resize(count);
  std::vector<int64_t> next(g.first.begin(), g.first.end() - 1);
  for (int64_t p = 0; p < count; ++p) g.entries[next[index[p]]++] = p;
  return g;
}

}  // namespace polyphony::kernels
