#pragma once
// The user–item bipartite graph of the training interactions, for the graph models. Nodes
// 0 .. U-1 are users and U .. U+I-1 items; every interaction is an edge in both directions.

#include <ATen/core/Tensor.h>

#include "models/recommender.h"
#include "models/sparse_matmul.h"

namespace polyphony {

struct InteractionGraph {
  int64_t num_users = 0;
  int64_t num_items = 0;
  // The edges in CSR order (by row, then column), both directions, each pair once.
  at::Tensor edge_rows;     // int64 [E]
  at::Tensor edge_cols;     // int64 [E]
  at::Tensor row_pointers;  // int64 [N + 1]: the edges of node v are row_pointers[v] .. [v+1]
  // Â = D^{-1/2} A D^{-1/2} (LightGCN, He et al. SIGIR 2020, Eq. 7): 1/√(deg v · deg j) per edge.
  at::Tensor edge_weights;            // [E]
  SparseMatrix adjacency;             // A, 0/1 entries, symmetric
  SparseMatrix normalized_adjacency;  // Â, symmetric

  int64_t num_nodes() const { return num_users + num_items; }
  // A copy on `device` with floating values of `dtype` (itself when already there).
  InteractionGraph to(c10::Device device, c10::ScalarType dtype) const;
};

// The graph of the context's training interactions (duplicates count once).
InteractionGraph interaction_graph(const ModelContext& context);

}  // namespace polyphony
