#include "models/interaction_graph.h"

#include <torch/torch.h>

#include "common/error.h"

namespace polyphony {

InteractionGraph interaction_graph(const ModelContext& context) {
  InteractionGraph g;
  g.num_users = context.num_users;
  g.num_items = context.num_items;
  const int64_t n = g.num_nodes();
  const auto users = context.train_users.to(torch::kLong);
  const auto items = context.train_items.to(torch::kLong);
  if (users.numel() > 0) {
    const auto u_max = users.max().item<int64_t>(), i_max = items.max().item<int64_t>();
    if (u_max >= g.num_users || i_max >= g.num_items || users.min().item<int64_t>() < 0 ||
        items.min().item<int64_t>() < 0)
      fail(
          "interaction graph: training interactions refer to users/items outside the {} × {} "
          "catalogue",
          g.num_users, g.num_items);
  }
  auto rows = torch::cat({users, items + g.num_users});
  auto cols = torch::cat({items + g.num_users, users});
  // One edge per (row, col): sort by the combined key and drop repeats.
  const auto key = std::get<0>(at::_unique(rows * n + cols, /*sorted=*/true));
  g.edge_rows = key.div(n, "floor");
  g.edge_cols = key.remainder(n);
  // In double, so a double model sees exact weights; a float model gets them rounded once.
  const auto degree = torch::bincount(g.edge_rows, {}, n).to(torch::kDouble);
  const auto inv_sqrt = torch::where(degree > 0, degree.rsqrt(), torch::zeros_like(degree));
  g.edge_weights = inv_sqrt.index_select(0, g.edge_rows) * inv_sqrt.index_select(0, g.edge_cols);
  g.row_pointers =
      torch::cat({torch::zeros({1}, torch::kLong), torch::bincount(g.edge_rows, {}, n).cumsum(0)});
  g.adjacency = sparse_matrix(g.edge_rows, g.edge_cols, torch::ones_like(g.edge_weights), n, n,
                              /*symmetric=*/true);
  g.normalized_adjacency =
      sparse_matrix(g.edge_rows, g.edge_cols, g.edge_weights, n, n, /*symmetric=*/true);
  return g;
}

InteractionGraph InteractionGraph::to(c10::Device device, c10::ScalarType dtype) const {
  if (edge_weights.device() == device && edge_weights.scalar_type() == dtype) return *this;
  InteractionGraph g = *this;
  g.edge_rows = edge_rows.to(device);
  g.edge_cols = edge_cols.to(device);
  g.row_pointers = row_pointers.to(device);
  g.edge_weights = edge_weights.to(device, dtype);
  g.adjacency = adjacency.to(device, dtype);
  g.normalized_adjacency = normalized_adjacency.to(device, dtype);
  return g;
}

}  // namespace polyphony
