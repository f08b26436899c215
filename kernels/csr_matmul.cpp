#include "kernels/csr_matmul.h"

#include <ATen/Dispatch.h>
#include <ATen/SparseCsrTensorImpl.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/mm.h>
#include <c10/util/Exception.h>

#include "kernels/csr_matmul_kernels.h"

namespace polyphony {
namespace {

// `t` as int64 and contiguous: itself when it already is (no operator then).
at::Tensor contiguous_int64(const at::Tensor& t) {
  return t.scalar_type() == at::kLong ? t.contiguous() : t.to(at::kLong).contiguous();
}

}  // namespace

at::Tensor csr_matmul(const at::Tensor& a, const at::Tensor& x) {
  TORCH_CHECK(a.layout() == at::kSparseCsr && a.dim() == 2, "csr_matmul: A must be a sparse CSR ",
              "matrix, got layout ", a.layout(), " with ", a.dim(), " dimensions");
  TORCH_CHECK(x.dim() == 2 && x.size(0) == a.size(1), "csr_matmul: X must be [", a.size(1),
              ", f], got ", x.sizes());
  TORCH_CHECK(x.scalar_type() == a.scalar_type() && x.device() == a.device(), "csr_matmul: X (",
              x.scalar_type(), " on ", x.device(), ") must match A (", a.scalar_type(), " on ",
              a.device(), ")");
  if (!x.device().is_cpu()) return at::mm(a, x);
  // The parts read from the tensor itself: each accessor (crow_indices(), ...) is an operator
  // that makes an alias, six a product, and a LightGCN step runs six products.
  const auto& parts = *static_cast<const at::SparseCsrTensorImpl*>(a.unsafeGetTensorImpl());
  const auto row_pointers = contiguous_int64(parts.compressed_indices());
  const auto columns = contiguous_int64(parts.plain_indices());
  const auto values = parts.values().contiguous();
  const auto dense = x.contiguous();
  const kernels::CsrMatmulSizes sizes{a.size(0), a.size(1), x.size(1)};
  auto out = at::empty({sizes.rows, sizes.features}, x.options());
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "csr_matmul_cpu", [&] {
    kernels::dispatch_by_cpu_capability([&](auto cpu) {
      kernels::csr_matmul_cpu<decltype(cpu)::value, scalar_t>(
          row_pointers.data_ptr<int64_t>(), columns.data_ptr<int64_t>(),
          values.data_ptr<scalar_t>(), dense.data_ptr<scalar_t>(), sizes, out.data_ptr<scalar_t>());
    });
  });
  return out;
}

}  // namespace polyphony
