#pragma once
// What `polyphony report` reads from a sweep's points, each value checked: a point's test
// metrics (metrics.json) and its per-user metrics (metrics.users.tsv). A file that breaks its
// format is an Error naming the file and the line or field.

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace polyphony::cli {

// Refuses a metrics.json whose metrics or exposure shares are not numbers; null is allowed (a
// metric a run cannot define, such as a gap with an empty group).
void check_metric_values(const nlohmann::json& metrics, const std::filesystem::path& file);

// A metric's value in a run's metrics.json: any name in its "metrics" (NDCG@10, AvgRankGap,
// UserGap[NDCG@10], NDCG@10[users:Q1]...), or Exposure@K[GROUP], an item group's share of the
// top-K slots. Nothing when the run does not have it, or has null.
std::optional<double> metric_value(const nlohmann::json& metrics, const std::string& name);

// User id -> value of `metric` in a metrics.users.tsv. Every line must have the header's
// fields, a user once and a finite number.
std::map<std::string, double> read_user_metric(const std::filesystem::path& file,
                                               const std::string& metric);

// Appends the values of `metric` in two points' per-user files (the baseline's first), user by
// user. The two must hold the same test users: a file cut short, or runs on other data, would
// change what a paired test means.
void pair_user_metrics(const std::filesystem::path& baseline_file,
                       const std::filesystem::path& file, const std::string& metric,
                       std::vector<double>& baseline_values, std::vector<double>& values);

}  // namespace polyphony::cli
