#include "engine/train/row_sparse_gradients.h"

#include <ATen/ATen.h>

#include <cstdint>

#include "engine/dist/collective.h"

namespace polyphony {

void coalesce_row_sparse_gradients(const std::vector<at::Tensor>& tables) {
  for (auto table : tables) {
    const auto& g = table.grad();
    if (g.defined() && g.is_sparse() && !g.is_coalesced()) table.mutable_grad() = g.coalesce();
  }
}

void all_reduce_row_sparse_gradients(Collective& collective,
                                     const std::vector<at::Tensor>& tables) {
  if (tables.empty()) return;
  coalesce_row_sparse_gradients(tables);  // the counts below are distinct rows
  const int64_t world = collective.world_size(), rank = collective.rank();
  const auto tables_count = static_cast<int64_t>(tables.size());
  // Row t: this process's number of rows of table t in column `rank`; 1 in the last column when
  // its gradient is dense. Summed, every process knows every process's counts.
  auto counts = at::zeros({tables_count, world + 1}, at::kLong);
  for (int64_t t = 0; t < tables_count; ++t) {
    const auto& g = tables[t].grad();
    if (!g.defined()) continue;
    if (g.is_sparse()) {
      counts[t][rank] = g._nnz();
    } else {
      counts[t][world] = 1;
    }
  }
  std::vector<at::Tensor> exchange{counts.to(tables.front().device())};
  collective.all_reduce_sum(exchange);
  counts = exchange.front().cpu();
  const auto c = counts.accessor<int64_t, 2>();

  std::vector<at::Tensor> buffers;  // per table: the dense gradient, or the rows' ids and values
  for (int64_t t = 0; t < tables_count; ++t) {
    auto table = tables[t];
    const auto& g = table.grad();
    if (c[t][world] > 0) {
      table.mutable_grad() = !g.defined()    ? at::zeros_like(table)
                             : g.is_sparse() ? g.to_dense()
                                             : g;
      buffers.push_back(table.grad());
      continue;
    }
    int64_t total = 0, offset = 0;
    for (int64_t r = 0; r < world; ++r) {
      if (r == rank) offset = total;
      total += c[t][r];
    }
    auto ids = at::zeros({total}, table.options().dtype(at::kLong));
    auto values = at::zeros({total, table.size(1)}, table.options());
    if (g.defined() && g._nnz() > 0) {
      const auto mine = g.coalesce();
      ids.narrow(0, offset, mine._nnz()).copy_(mine._indices().select(0, 0));
      values.narrow(0, offset, mine._nnz()).copy_(mine._values());
    }
    buffers.push_back(ids);
    buffers.push_back(values);
  }
  collective.all_reduce_sum(buffers);  // bucketed: one exchange for every table

  size_t next = 0;
  for (int64_t t = 0; t < tables_count; ++t) {
    auto table = tables[t];
    if (c[t][world] > 0) {
      ++next;  // summed in place
      continue;
    }
    const auto& ids = buffers[next++];
    const auto& values = buffers[next++];
    table.mutable_grad() =
        at::sparse_coo_tensor(ids.unsqueeze(0), values, table.sizes()).coalesce();
  }
}

}  // namespace polyphony
