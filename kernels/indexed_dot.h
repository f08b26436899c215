#pragma once
// The scores of a batch's (row, slot) pairs where many slots name the same table row: a ProtoMF
// batch scores 326 users against 39 item slots each, 12.7 k slots over at most 3,706 distinct
// items. Gathering the table rows to the slots and multiplying batch by batch writes and reads
// [B, n, F] values forward and backward and scatters the gradient back; this reads each table
// row where a slot names it and never materialises the gathered rows.

#include <ATen/core/Tensor.h>

namespace polyphony {

// out[b, j] = ⟨rows[b], table[index[b, j]]⟩ for rows [B, F], table [D, F] of one floating dtype and
// device, index int64 [B, n] with every entry in [0, D); with autograd for rows and table. CPU:
// Polyphony's kernel (compiled per CpuCapability; the table's gradient summed per table row over
// the pairs naming it, in pair order, so it does not depend on the thread count); other devices:
// LibTorch's gather and batched product.
at::Tensor indexed_dot(const at::Tensor& rows, const at::Tensor& table, const at::Tensor& index);

}  // namespace polyphony
