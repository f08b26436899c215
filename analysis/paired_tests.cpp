#include "analysis/paired_tests.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include <boost/math/distributions/normal.hpp>
#include <boost/math/distributions/students_t.hpp>

#include "common/error.h"

namespace polyphony {
namespace {

std::vector<double> differences(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size())
    fail("paired test: {} values against {}; the pairs must be the same users", a.size(), b.size());
  std::vector<double> d(a.size());
  for (size_t i = 0; i < a.size(); ++i) d[i] = b[i] - a[i];
  return d;
}

// P(W+ ≤ w) under the null hypothesis for n pairs without ties: each of the 2^n sign patterns of
// the ranks 1..n is equally likely (Wilcoxon, 1945).
double exact_cdf(int64_t n, double w) {
  const int64_t max_sum = n * (n + 1) / 2;
  std::vector<double> count(static_cast<size_t>(max_sum + 1), 0.0);  // patterns per sum
  count[0] = 1;
  for (int64_t rank = 1; rank <= n; ++rank)
    for (int64_t s = max_sum; s >= rank; --s) count[s] += count[s - rank];
  double below = 0;
  for (int64_t s = 0; s <= max_sum && static_cast<double>(s) <= w + 1e-9; ++s) below += count[s];
  return below / std::ldexp(1.0, static_cast<int>(n));
}

}  // namespace

PairedTTest paired_t_test(const std::vector<double>& a, const std::vector<double>& b) {
  const auto d = differences(a, b);
  PairedTTest r;
  r.n = static_cast<int64_t>(d.size());
  if (r.n < 2) return r;
  r.mean_difference = std::accumulate(d.begin(), d.end(), 0.0) / static_cast<double>(r.n);
  double squares = 0;
  for (const double x : d) squares += (x - r.mean_difference) * (x - r.mean_difference);
  const double sd = std::sqrt(squares / static_cast<double>(r.n - 1));
  if (sd == 0) {  // every difference the same: no spread to test against
    r.t = r.mean_difference == 0
              ? 0
              : std::copysign(std::numeric_limits<double>::infinity(), r.mean_difference);
    r.p = r.mean_difference == 0 ? 1 : 0;
    r.cohens_dz = r.t;
    return r;
  }
  r.t = r.mean_difference / (sd / std::sqrt(static_cast<double>(r.n)));
  r.cohens_dz = r.mean_difference / sd;
  const boost::math::students_t t(static_cast<double>(r.n - 1));
  r.p = std::min(1.0, 2 * boost::math::cdf(boost::math::complement(t, std::fabs(r.t))));
  return r;
}

WilcoxonTest wilcoxon_signed_rank(const std::vector<double>& a, const std::vector<double>& b) {
  auto d = differences(a, b);
  d.erase(std::remove(d.begin(), d.end(), 0.0), d.end());
  WilcoxonTest r;
  r.n = static_cast<int64_t>(d.size());
  if (r.n == 0) return r;
  std::vector<size_t> order(d.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](size_t i, size_t j) { return std::fabs(d[i]) < std::fabs(d[j]); });
  // Average ranks over runs of equal |d|; Σ(t³ − t) of the runs corrects the variance.
  double tie_term = 0;
  bool ties = false;
  for (size_t start = 0; start < order.size();) {
    size_t end = start + 1;
    while (end < order.size() && std::fabs(d[order[end]]) == std::fabs(d[order[start]])) ++end;
    const double rank = (static_cast<double>(start + 1) + static_cast<double>(end)) / 2;
    const double t = static_cast<double>(end - start);
    if (t > 1) ties = true;
    tie_term += t * t * t - t;
    for (size_t k = start; k < end; ++k) (d[order[k]] > 0 ? r.w_plus : r.w_minus) += rank;
    start = end;
  }
  const double n = static_cast<double>(r.n);
  r.rank_biserial = (r.w_plus - r.w_minus) / (r.w_plus + r.w_minus);
  if (r.n <= 50 && !ties) {
    r.exact = true;
    const double lower = exact_cdf(r.n, std::min(r.w_plus, r.w_minus));
    r.p = std::min(1.0, 2 * lower);
    return r;
  }
  const double mean = n * (n + 1) / 4;
  const double variance = n * (n + 1) * (2 * n + 1) / 24 - tie_term / 48;
  r.z = variance > 0 ? (r.w_plus - mean) / std::sqrt(variance) : 0;
  const boost::math::normal normal;
  r.p = std::min(1.0, 2 * boost::math::cdf(boost::math::complement(normal, std::fabs(r.z))));
  return r;
}

}  // namespace polyphony
