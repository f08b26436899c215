#include "analysis/pareto_front.h"

#include <cmath>

#include "common/error.h"

namespace polyphony {

std::vector<bool> pareto_front(const std::vector<double>& x, const std::vector<double>& y,
                               bool x_higher_better, bool y_higher_better) {
  if (x.size() != y.size()) fail("pareto_front: {} x values, {} y values", x.size(), y.size());
  // Both objectives turned into "higher is better".
  const auto gx = [&](size_t i) { return x_higher_better ? x[i] : -x[i]; };
  const auto gy = [&](size_t i) { return y_higher_better ? y[i] : -y[i]; };
  std::vector<bool> front(x.size(), false);
  for (size_t i = 0; i < x.size(); ++i) {
    if (!std::isfinite(x[i]) || !std::isfinite(y[i])) continue;
    bool dominated = false;
    for (size_t j = 0; j < x.size() && !dominated; ++j) {
      if (j == i || !std::isfinite(x[j]) || !std::isfinite(y[j])) continue;
      dominated = gx(j) >= gx(i) && gy(j) >= gy(i) && (gx(j) > gx(i) || gy(j) > gy(i));
    }
    front[i] = !dominated;
  }
  return front;
}

}  // namespace polyphony
