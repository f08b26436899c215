#include "analysis/spikiness.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>

#include "common/error.h"

namespace polyphony {

Spikiness spikiness(const at::Tensor& embeddings, const SpikinessOptions& o) {
  if (embeddings.dim() != 2)
    fail("spikiness: expected a matrix, got {} dimensions", embeddings.dim());
  if (!(o.cosine > -1 && o.cosine < 1) || !(o.coverage > 0 && o.coverage < 1) || o.dims < 1)
    fail("spikiness: cosine must be in (-1, 1), coverage in (0, 1) and dims at least 1");
  auto e = embeddings.to(at::kDouble).narrow(1, 0, std::min(o.dims, embeddings.size(1)));
  auto norm = e.norm(2, {1});
  e = e.index({norm > 0});
  norm = norm.index({norm > 0});
  if (e.size(0) > o.max_rows) {
    auto generator = at::make_generator<at::CPUGeneratorImpl>(o.seed);
    auto pick = at::randperm(e.size(0), generator, at::kLong).narrow(0, 0, o.max_rows);
    e = e.index_select(0, pick);
    norm = norm.index_select(0, pick);
  }
  Spikiness result;
  result.rows = e.size(0);
  if (result.rows == 0) return result;
  auto order = std::get<1>(norm.sort(0, /*descending=*/true));
  auto unit = (e / norm.unsqueeze(1)).index_select(0, order);
  auto covered = at::zeros({result.rows}, at::kBool);
  int64_t n_covered = 0, next = 0;
  const auto needed = static_cast<double>(result.rows) * o.coverage;
  auto covered_ptr = covered.data_ptr<bool>();
  while (static_cast<double>(n_covered) <= needed) {
    while (covered_ptr[next]) ++next;  // the first uncovered row in norm order opens a spike
    auto joins = (at::mv(unit, unit[next]) > o.cosine).logical_and_(covered.logical_not());
    joins[next] = true;
    n_covered += joins.sum().item<int64_t>();
    covered.logical_or_(joins);
    ++result.spikes;
  }
  result.share = static_cast<double>(result.spikes) / static_cast<double>(result.rows);
  return result;
}

}  // namespace polyphony
