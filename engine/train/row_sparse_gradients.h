#pragma once
// The gradients of embedding tables under row-sparse updates: sparse COO tensors holding the rows
// a step read (Recommender::set_row_sparse_gradients), or dense where a term read the whole table.

#include <vector>

#include <ATen/core/Tensor.h>

namespace polyphony {

class Collective;

// Sums each sparse gradient's repeated rows (a row read twice in a batch), so that each row
// appears once: what the gradient norm, the finiteness checks and the optimiser read.
void coalesce_row_sparse_gradients(const std::vector<at::Tensor>& tables);

// Sums the tables' gradients over the processes of a data-parallel run. Each process sends the
// rows it read (every process learns every process's row counts first, then all rows travel in
// one summed buffer where each process fills its own slice), so the traffic is the rows the
// global batch read, not the tables. A table whose gradient is dense on any process is summed
// densely. A process without a gradient for a table (an empty share) sends no rows.
void all_reduce_row_sparse_gradients(Collective& collective, const std::vector<at::Tensor>& tables);

}  // namespace polyphony
