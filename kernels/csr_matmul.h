#pragma once
// Sparse CSR × dense products for the graph models: LightGCN and the multi-interest model
// propagate the whole interaction graph through every layer, forward and backward, each step
// (docs/benchmarks.md: MKL's CSR product took 78 % of a LightGCN step on the CPU).

#include <ATen/core/Tensor.h>

namespace polyphony {

// A · X for a sparse CSR matrix A [n, m] and a dense X [m, f] of A's dtype -> [n, f], without
// autograd (models/sparse_matmul.h adds the gradient). CPU: Polyphony's kernel, rows in parallel,
// each output row a sum of X's rows scaled by the row's entries in CSR order (vectorised over f,
// compiled per CpuCapability); other devices: LibTorch's product (cuSPARSE on CUDA).
at::Tensor csr_matmul(const at::Tensor& a, const at::Tensor& x);

}  // namespace polyphony
