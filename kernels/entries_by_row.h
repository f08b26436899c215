#pragma once
// The entries of an index grouped by the table row they name, for CPU kernels that sum a gradient
// per table row: no atomics, and a summation order that does not depend on the thread count.
// Compiled once (not per CpuCapability): a std::vector function instantiated in an AVX object
// could be the copy the linker keeps for every CPU.

#include <cstdint>
#include <vector>

namespace polyphony::kernels {

// Row d's entries are entries[first[d] .. first[d + 1]), in entry order.
struct EntriesByRow {
  std::vector<int64_t> first;    // [rows + 1]
  std::vector<int64_t> entries;  // [count]
};

// One counting sort of index [count], each entry in [0, rows).
EntriesByRow group_entries_by_row(const int64_t* index, int64_t count, int64_t rows);

}  // namespace polyphony::kernels
