// CPU path of the training batch draw: rows in parallel, each draw from its own Philox
// subsequence, so the items do not depend on the thread count.

#include <ATen/Parallel.h>

#include "kernels/negative_draw.h"
#include "kernels/negative_draws_kernels.h"

namespace polyphony::kernels {

void draw_batch_cpu(const BatchSource& source, const NegativeTables& tables, const DrawSizes& sizes,
                    const RandomKey& key, int64_t* out_users, int64_t* out_items) {
  const int64_t n = sizes.negatives;
  const int64_t width = (source.items ? 1 : 0) + n;
  const int64_t first = source.first_pointer ? *source.first_pointer : source.first;
  at::parallel_for(0, sizes.rows, 256, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      const int64_t entry = source.order ? source.order[first + b] : first + b;
      const int64_t user = source.users[entry];
      out_users[b] = user;
      int64_t* row = out_items + b * width;
      if (source.items) *row++ = source.items[entry];
      for (int64_t j = 0; j < n; ++j)
        row[j] = draw_negative(tables, user, key.seed, static_cast<uint64_t>(b * n + j),
                               key.offset / kRandomValuesPerDraw);
    }
  });
}

}  // namespace polyphony::kernels
