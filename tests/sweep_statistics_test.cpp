// The statistics of sweep reports against values computed by hand and by SciPy 1.17.1
// (scipy.stats.ttest_rel, wilcoxon(method='exact' / 'approx', correction=False) and t.ppf; the
// inputs are those below, b − a): confidence intervals, paired t-test, Wilcoxon signed-rank
// (exact and tie-corrected normal) and Pareto fronts, plus a reference check on fresh random
// inputs.

#include <cmath>
#include <random>

#include <gtest/gtest.h>

#include "analysis/paired_tests.h"
#include "analysis/pareto_front.h"
#include "analysis/summary_statistics.h"
#include "tests/test_support.h"

namespace polyphony {
namespace {

TEST(SummaryStatistics, MeanSdAndStudentInterval) {
  // By hand: mean 2.5, sd √(5/3) = 1.29099; t(0.975, 3) = 3.182446; half-width t·sd/√4.
  const auto s = summarize({1, 2, 3, 4});
  EXPECT_EQ(s.n, 4);
  EXPECT_DOUBLE_EQ(s.mean, 2.5);
  EXPECT_NEAR(s.sd, 1.2909944487358056, 1e-12);
  EXPECT_NEAR(s.ci95_half, 2.0542602567605206, 1e-9);  // SciPy: t.ppf(0.975, 3) * sd / 2
}

TEST(SummaryStatistics, OneSeedHasNoSpreadAndNonFiniteValuesAreLeftOut) {
  const auto one = summarize({0.3, std::nan("")});
  EXPECT_EQ(one.n, 1);
  EXPECT_DOUBLE_EQ(one.mean, 0.3);
  EXPECT_TRUE(std::isnan(one.sd));
  EXPECT_TRUE(std::isnan(one.ci95_half));
  EXPECT_EQ(summarize({}).n, 0);
  EXPECT_TRUE(std::isnan(summarize({}).mean));
}

TEST(PairedTTest, TextbookCase) {
  // d = 1..5: mean 3, sd √2.5, t = 3 / (√2.5 / √5) = 3√2 = 4.2426; SciPy p = 0.013235599563682.
  const auto r = paired_t_test({0, 0, 0, 0, 0}, {1, 2, 3, 4, 5});
  EXPECT_EQ(r.n, 5);
  EXPECT_DOUBLE_EQ(r.mean_difference, 3);
  EXPECT_NEAR(r.t, 3 * std::sqrt(2.0), 1e-12);
  EXPECT_NEAR(r.p, 0.01323559956368269, 1e-12);
  EXPECT_NEAR(r.cohens_dz, 3 / std::sqrt(2.5), 1e-12);
}

const std::vector<double> kA = {0.31, 0.62, 0.15, 0.88, 0.47, 0.52, 0.09, 0.73, 0.26, 0.6};
const std::vector<double> kB = {0.35, 0.58, 0.27, 0.95, 0.49, 0.61, 0.08, 0.86, 0.4, 0.71};

TEST(PairedTTest, AgreesWithSciPy) {
  const auto r = paired_t_test(kA, kB);
  EXPECT_NEAR(r.t, 3.406779661016948, 1e-10);
  EXPECT_NEAR(r.p, 0.007789232629623474, 1e-10);
}

TEST(PairedTTest, NoSpreadAndMismatchedSizes) {
  EXPECT_DOUBLE_EQ(paired_t_test({1, 2, 3}, {1, 2, 3}).p, 1);
  EXPECT_DOUBLE_EQ(paired_t_test({1, 2, 3}, {2, 3, 4}).p, 0);
  EXPECT_NE(testing::error_of([] {
              paired_t_test({1, 2}, {1});
            }).find("2 values against 1"),
            std::string::npos);
}

TEST(Wilcoxon, ExactWithoutTies) {
  // Differences 0.04, −0.04, 0.12, 0.07, 0.02, 0.09, −0.01, 0.13, 0.14, 0.11 (no two |d| equal
  // in floating point): W− = 1 + 4 = 5, W+ = 55 − 5 = 50; SciPy exact p = 0.01953125 (= 20/1024).
  const auto r = wilcoxon_signed_rank(kA, kB);
  EXPECT_TRUE(r.exact);
  EXPECT_EQ(r.n, 10);
  EXPECT_DOUBLE_EQ(r.w_minus, 5);
  EXPECT_DOUBLE_EQ(r.w_plus, 50);
  EXPECT_DOUBLE_EQ(r.p, 0.01953125);
  EXPECT_NEAR(r.rank_biserial, 45.0 / 55.0, 1e-12);
}

TEST(Wilcoxon, ZerosDroppedTiesAveragedNormalApproximation) {
  // d = 1,0,2,1,−1,2,2,2,0,2,1,2: two zeros dropped, n = 10; |d| = 1 four times (ranks 1–4,
  // average 2.5), |d| = 2 six times (ranks 5–10, average 7.5); W− = 2.5. SciPy (approx, no
  // continuity correction, tie-corrected variance) p = 0.008636216760319582.
  const std::vector<double> a = {3, 5, 2, 8, 6, 4, 7, 5, 9, 1, 4, 6};
  const std::vector<double> b = {4, 5, 4, 9, 5, 6, 9, 7, 9, 3, 5, 8};
  const auto r = wilcoxon_signed_rank(a, b);
  EXPECT_FALSE(r.exact);
  EXPECT_EQ(r.n, 10);
  EXPECT_DOUBLE_EQ(r.w_minus, 2.5);
  EXPECT_DOUBLE_EQ(r.w_plus, 52.5);
  EXPECT_NEAR(r.p, 0.008636216760319582, 1e-12);
  // The paired t-test of the same pairs: SciPy t = 3.9242833740697165, p = 0.0023752882027352905.
  EXPECT_NEAR(paired_t_test(a, b).p, 0.0023752882027352905, 1e-12);
}

TEST(Wilcoxon, ExactDistributionMatchesEnumeration) {
  // Fresh random pairs without ties: the exact p against enumerating all 2^n sign patterns.
  std::mt19937_64 rng(std::random_device{}());
  std::uniform_real_distribution<double> uniform(-1, 1);
  for (int trial = 0; trial < 5; ++trial) {
    const int n = 6 + trial;
    std::vector<double> a(n, 0.0), b(n);
    for (auto& x : b) x = uniform(rng);
    const auto r = wilcoxon_signed_rank(a, b);
    ASSERT_TRUE(r.exact);
    const double observed = std::min(r.w_plus, r.w_minus);
    int64_t at_most = 0;
    for (int64_t mask = 0; mask < (int64_t{1} << n); ++mask) {
      double w = 0;
      for (int k = 0; k < n; ++k)
        if (mask >> k & 1) w += k + 1;
      at_most += w <= observed + 1e-9;
    }
    EXPECT_NEAR(r.p, std::min(1.0, 2.0 * static_cast<double>(at_most) / std::ldexp(1.0, n)), 1e-12);
  }
}

TEST(ParetoFront, HigherAccuracyLowerBias) {
  // (NDCG, ARP): (0.10, 50) and (0.12, 80) trade off; (0.09, 60) is dominated by the first;
  // (0.12, 90) by the second; a NaN point is never on the front.
  const std::vector<double> ndcg = {0.10, 0.12, 0.09, 0.12, std::nan("")};
  const std::vector<double> arp = {50, 80, 60, 90, 10};
  const auto front = pareto_front(ndcg, arp, /*x_higher_better=*/true, /*y_higher_better=*/false);
  EXPECT_EQ(front, (std::vector<bool>{true, true, false, false, false}));
  // Equal points do not dominate each other.
  EXPECT_EQ(pareto_front({1, 1}, {2, 2}, true, true), (std::vector<bool>{true, true}));
}

}  // namespace
}  // namespace polyphony
