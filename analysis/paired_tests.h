#pragma once
// Tests of whether two systems differ on the same users: the paired t-test and the Wilcoxon
// signed-rank test, two-sided, on the per-user differences b − a.

#include <cstdint>
#include <vector>

namespace polyphony {

struct PairedTTest {
  int64_t n = 0;
  double mean_difference = 0;  // mean of b − a
  double t = 0;
  double p = 1;          // two-sided, Student t with n − 1 degrees of freedom
  double cohens_dz = 0;  // mean difference / sd of the differences
};

struct WilcoxonTest {
  int64_t n = 0;      // pairs with a non-zero difference (zeros are dropped, Wilcoxon's way)
  double w_plus = 0;  // sum of the ranks of |b − a| where b > a (ties get average ranks)
  double w_minus = 0;
  double z = 0;  // normal approximation (tie-corrected variance, no continuity
                 // correction); 0 when the exact distribution is used
  double p = 1;  // two-sided: exact for n ≤ 50 without ties, the approximation otherwise
  double rank_biserial = 0;  // (W+ − W−) / (W+ + W−), in [−1, 1]
  bool exact = false;
};

// `a` and `b` hold the same users' values in the same order; an Error when their sizes differ.
PairedTTest paired_t_test(const std::vector<double>& a, const std::vector<double>& b);
WilcoxonTest wilcoxon_signed_rank(const std::vector<double>& a, const std::vector<double>& b);

}  // namespace polyphony
