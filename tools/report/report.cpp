#include "tools/report/report.h"

#include <cmath>

#include <fmt/format.h>

namespace polyphony::cli {
namespace {

std::string number(double value) {
  if (std::isnan(value)) return "n/a";
  return fmt::format("{:.4f}", value);
}

}  // namespace

std::string format_report(const EvaluationResult& r, int64_t k) {
  const std::string at_k = "@" + std::to_string(k);
  std::string out =
      fmt::format("{} split, {} ({} users)\n", r.split, r.protocol, r.users_evaluated);
  out += fmt::format("  {:<28}{:>12}\n", "metric", at_k);
  for (const char* name : {"HR", "NDCG", "Recall", "Precision", "MRR", "MAP", "Coverage", "Gini",
                           "ARP", "HeadShare", "Novelty"}) {
    auto it = r.metrics.find(name + at_k);
    if (it != r.metrics.end()) out += fmt::format("  {:<28}{:>12}\n", name, number(it->second));
  }
  if (!r.group_names.empty()) {
    out +=
        fmt::format("  {:<28}{:>12}{:>14}{:>12}{:>12}\n", "item group (" + r.group_attribute + ")",
                    "avg rank", "exposure" + at_k, "catalogue", "test items");
    auto exposure = r.group_exposure_share.find(k);
    for (size_t g = 0; g < r.group_names.size(); ++g) {
      const double share = exposure == r.group_exposure_share.end() ? NAN : exposure->second[g];
      out += fmt::format("  {:<28}{:>12}{:>14}{:>12}{:>12}\n", r.group_names[g],
                         fmt::format("{:.1f}", r.group_avg_rank[g]), number(share),
                         number(r.group_catalogue_share[g]), r.group_test_interactions[g]);
    }
    if (!r.over_group.empty()) {
      out += fmt::format("  avg-rank gap ({} − {}): {:.1f}  (positive: {} ranked lower)\n",
                         r.under_group, r.over_group, r.avg_rank_gap, r.under_group);
    }
    const auto gap = r.metrics.find("CandidateRankGap");
    if (gap != r.metrics.end())
      out += fmt::format(
          "  candidate rank (every candidate of a row, per listed value, sides unweighted): "
          "over {:.2f}, under {:.2f}, gap {:.2f}\n",
          r.metrics.at("CandidateRank[over]"), r.metrics.at("CandidateRank[under]"), gap->second);
  }
  if (!r.user_group_names.empty()) {
    out +=
        fmt::format("  {:<28}{:>12}{:>14}{:>12}\n", "user group (" + r.user_group_attribute + ")",
                    "users", "NDCG" + at_k, "Recall" + at_k);
    for (size_t g = 0; g < r.user_group_names.size(); ++g) {
      const std::string suffix = "[users:" + r.user_group_names[g] + "]";
      out += fmt::format("  {:<28}{:>12}{:>14}{:>12}\n", r.user_group_names[g],
                         r.user_group_users[g], number(r.metrics.at("NDCG" + at_k + suffix)),
                         number(r.metrics.at("Recall" + at_k + suffix)));
    }
    out += fmt::format("  NDCG{} gap between user groups (best − worst): {}\n", at_k,
                       number(r.metrics.at("UserGap[NDCG" + at_k + "]")));
  }
  return out;
}

}  // namespace polyphony::cli
