#pragma once
// What `polyphony report` computes from a sweep directory: each group's metrics over seeds
// (mean, sd, 95 % CI), paired significance tests against the baseline variant over the same
// test users, and Pareto fronts of utility against bias.

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "analysis/paired_tests.h"
#include "analysis/summary_statistics.h"
#include "tools/report/report_inputs.h"

namespace polyphony::cli {

// Whether a larger value of `metric` is better (utility, coverage, long-tail share) or worse
// (popularity, concentration, gaps).
bool higher_is_better(const std::string& metric);

// The points of one variant and set of axis values, over seeds.
struct ReportGroup {
  std::string group;  // the points' id without the seed
  std::string variant;
  std::vector<std::pair<std::string, std::string>> values;  // axis key, value
  std::vector<std::string> points;                          // ids of its finished points
  std::vector<uint64_t> seeds;                              // their seeds, in the same order
  int64_t planned = 0;                                      // points the sweep plans for it
  std::map<std::string, SummaryStatistics> metrics;
};

// One group against its baseline on one metric, over (seed, user) pairs.
struct SignificanceRow {
  std::string group, baseline_group, metric;
  double baseline_mean = 0, group_mean = 0;  // over the pairs
  PairedTTest t;
  WilcoxonTest wilcoxon;
};

struct ParetoChart {
  std::string utility, bias;   // metric names: y (utility) and x (bias) of the chart
  std::vector<size_t> groups;  // indices into SweepReport::groups with both values
  std::vector<SummaryStatistics> bias_values, utility_values;  // of each, over its seeds
  std::vector<bool> front;                                     // whether each is non-dominated
};

struct SweepReport {
  std::filesystem::path directory;
  nlohmann::json plan;  // sweep.json
  std::vector<std::string> metrics;
  std::vector<ReportGroup> groups;
  std::vector<SignificanceRow> significance;
  std::string significance_note;  // why there is none, when there is none
  std::vector<ParetoChart> pareto;
  int64_t points_planned = 0, points_finished = 0;
  // What a figure rests on that a reader must know: a seed's metric missing or null, a seed left
  // out of the paired tests. The report shows them.
  std::vector<std::string> warnings;
  std::string regrouping;  // ReportOptions::regrouping
};

struct ReportOptions {
  std::vector<std::string> metrics;  // empty: the defaults (see default_report_metrics)
  // A variant, a point group, or AXIS=VALUE (each group against its variant's group with that
  // value, e.g. resn=0); empty: the sweep's baseline.
  std::string baseline;
  // Per-user metrics to test, and (utility, bias) pairs to chart (`polyphony report --help`
  // gives the defaults).
  std::vector<std::string> significance_metrics;
  std::vector<std::pair<std::string, std::string>> pareto;
  // A point's test metrics, relative to its run directory: its own metrics.json, or those of an
  // evaluation under other item groups (tools/report/regroup.h), which `regrouping` describes.
  std::string metrics_file = "metrics.json";
  std::string regrouping;
};

// The default metrics of a report on `runs` (their metrics.json), those any of them has:
// NDCG@10, Recall@10, ARP@10, APLT@10, Coverage@10, Gini@10, AvgRankGap, the item groups'
// exposure shares at 10, and UserGap[NDCG@10] when there are user groups.
std::vector<std::string> default_report_metrics(const std::vector<nlohmann::json>& runs);

// Reads the sweep directory (sweep.json, each finished point's metrics.json and per-user metrics)
// and computes the report. A directory without sweep.json, or without a finished point, is an
// Error naming it.
SweepReport compute_sweep_report(const std::filesystem::path& directory,
                                 const ReportOptions& options);

}  // namespace polyphony::cli
