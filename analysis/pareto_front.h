#pragma once
// The non-dominated points of a trade-off between two objectives, such as accuracy (NDCG@10,
// higher is better) against popularity bias (ARP@10, lower is better).

#include <vector>

namespace polyphony {

// For each point (x[i], y[i]), whether no other point is at least as good in both objectives and
// better in one. `x_higher_better` and `y_higher_better` give each objective's direction. Points
// with a non-finite coordinate are never on the front and dominate nothing.
std::vector<bool> pareto_front(const std::vector<double>& x, const std::vector<double>& y,
                               bool x_higher_better, bool y_higher_better);

}  // namespace polyphony
