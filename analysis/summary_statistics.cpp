#include "analysis/summary_statistics.h"

#include <cmath>
#include <limits>

#include <boost/math/distributions/students_t.hpp>

namespace polyphony {

SummaryStatistics summarize(const std::vector<double>& values) {
  constexpr double nan = std::numeric_limits<double>::quiet_NaN();
  SummaryStatistics s;
  double sum = 0;
  for (const double v : values)
    if (std::isfinite(v)) {
      sum += v;
      ++s.n;
    }
  if (s.n == 0) return {0, nan, nan, nan};
  s.mean = sum / static_cast<double>(s.n);
  if (s.n < 2) {
    s.sd = s.ci95_half = nan;
    return s;
  }
  double squares = 0;
  for (const double v : values)
    if (std::isfinite(v)) squares += (v - s.mean) * (v - s.mean);
  s.sd = std::sqrt(squares / static_cast<double>(s.n - 1));
  // Mean ± t(0.975, n − 1) · sd / √n.
  const boost::math::students_t t(static_cast<double>(s.n - 1));
  s.ci95_half = boost::math::quantile(t, 0.975) * s.sd / std::sqrt(static_cast<double>(s.n));
  return s;
}

}  // namespace polyphony
