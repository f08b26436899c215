#include "models/sparse_matmul.h"

#include <torch/torch.h>

#include "kernels/csr_matmul.h"

namespace polyphony {
namespace {

// LibTorch warns once per process that sparse CSR is "beta"; the operations used here (CSR
// construction, CSR × dense) are stable and tested, so the warning is noise on the console.
class SilentWarnings : public c10::WarningHandler {
 public:
  void process(const c10::Warning& /*warning*/) override {}
};

at::Tensor to_csr(const at::Tensor& rows, const at::Tensor& cols, const at::Tensor& values,
                  int64_t n, int64_t m) {
  SilentWarnings silent;
  c10::WarningUtils::WarningHandlerGuard guard(&silent);
  return at::sparse_coo_tensor(at::stack({rows, cols}), values, {n, m}).coalesce().to_sparse_csr();
}

at::Tensor csr_to(const at::Tensor& csr, c10::Device device, c10::ScalarType dtype) {
  if (csr.device() == device && csr.scalar_type() == dtype) return csr;
  SilentWarnings silent;
  c10::WarningUtils::WarningHandlerGuard guard(&silent);
  return csr.to(device, dtype);
}

class SparseMatmul : public torch::autograd::Function<SparseMatmul> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& matrix,
                            const at::Tensor& transposed, const at::Tensor& x) {
    ctx->saved_data["transposed"] = transposed;
    return csr_matmul(matrix, x);
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad) {
    const auto transposed = ctx->saved_data["transposed"].toTensor();
    return {at::Tensor(), at::Tensor(), csr_matmul(transposed, grad[0])};
  }
};

}  // namespace

SparseMatrix SparseMatrix::to(c10::Device device, c10::ScalarType dtype) const {
  SparseMatrix moved;
  moved.matrix = csr_to(matrix, device, dtype);
  moved.transposed = transposed.is_same(matrix) ? moved.matrix : csr_to(transposed, device, dtype);
  return moved;
}

SparseMatrix sparse_matrix(const at::Tensor& rows, const at::Tensor& cols, const at::Tensor& values,
                           int64_t n, int64_t m, bool symmetric) {
  TORCH_CHECK(rows.sizes() == cols.sizes() && rows.sizes() == values.sizes() && rows.dim() == 1,
              "sparse_matrix: rows, cols and values must be vectors of one length");
  TORCH_CHECK(!symmetric || n == m, "sparse_matrix: a symmetric matrix must be square");
  SparseMatrix a;
  a.matrix = to_csr(rows, cols, values, n, m);
  a.transposed = symmetric ? a.matrix : to_csr(cols, rows, values, m, n);
  return a;
}

SparseMatrix csr_matrix(const at::Tensor& row_pointers, const at::Tensor& rows,
                        const at::Tensor& cols, const at::Tensor& values, int64_t m) {
  const int64_t n = row_pointers.numel() - 1;
  SilentWarnings silent;
  c10::WarningUtils::WarningHandlerGuard guard(&silent);
  SparseMatrix a;
  a.matrix = at::sparse_csr_tensor(row_pointers, cols, values, {n, m},
                                   values.options().layout(at::kSparseCsr));
  const auto order = at::argsort(cols * n + rows);
  const auto transposed_pointers =
      at::cat({at::zeros({1}, cols.options()), at::bincount(cols, {}, m).cumsum(0)});
  a.transposed = at::sparse_csr_tensor(transposed_pointers, rows.index_select(0, order),
                                       values.index_select(0, order), {m, n},
                                       values.options().layout(at::kSparseCsr));
  return a;
}

at::Tensor sparse_matmul(const SparseMatrix& a, const at::Tensor& x) {
  TORCH_CHECK(x.dim() == 2 && x.size(0) == a.matrix.size(1), "sparse_matmul: X must be [",
              a.matrix.size(1), ", f], got ", x.sizes());
  return SparseMatmul::apply(a.matrix, a.transposed, x.contiguous());
}

}  // namespace polyphony
