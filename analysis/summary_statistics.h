#pragma once
// Mean, spread and confidence interval of a metric over seeds.

#include <cstdint>
#include <vector>

namespace polyphony {

struct SummaryStatistics {
  int64_t n = 0;
  double mean = 0;
  double sd = 0;         // sample standard deviation (n − 1); NaN for n < 2
  double ci95_half = 0;  // half-width of the 95 % Student-t interval of the mean; NaN for n < 2
};

// Of the finite values in `values` (NaN for none).
SummaryStatistics summarize(const std::vector<double>& values);

}  // namespace polyphony
