#include "tools/report/sweep_report.h"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "analysis/pareto_front.h"
#include "common/error.h"
#include "engine/run/run_directory.h"
#include "tools/report/report_inputs.h"
#include "tools/run/json_file.h"

namespace polyphony::cli {
namespace {

namespace fs = std::filesystem;

// A file the report needs: missing or damaged is an Error naming it.
nlohmann::json required_json(const fs::path& file) {
  auto json = read_json_file(file);
  if (json.is_discarded()) fail("{}: missing, unreadable or not JSON", file.string());
  return json;
}

bool starts_with(const std::string& text, const char* prefix) { return text.rfind(prefix, 0) == 0; }

// The baseline group of `group` among `candidates`: the one that agrees with it on the most
// shared axes (all of them but `free_axis`, the axis a KEY=VALUE baseline fixes), and on the
// variant when `same_variant`; nothing when none does.
std::optional<size_t> matching_baseline(const ReportGroup& group,
                                        const std::vector<ReportGroup>& groups,
                                        const std::vector<size_t>& candidates,
                                        const std::string& free_axis, bool same_variant) {
  std::optional<size_t> best;
  int best_shared = -1;
  for (const size_t c : candidates) {
    if (same_variant && groups[c].variant != group.variant) continue;
    int shared = 0;
    bool agrees = true;
    for (const auto& [key, value] : groups[c].values)
      for (const auto& [other_key, other_value] : group.values)
        if (key == other_key && key != free_axis) {
          ++shared;
          agrees = agrees && value == other_value;
        }
    if (agrees && shared > best_shared) {
      best = c;
      best_shared = shared;
    }
  }
  return best;
}

}  // namespace

bool higher_is_better(const std::string& metric) {
  for (const char* lower : {"ARP", "Gini", "HeadShare", "UserGap", "UserStd", "AvgRankGap",
                            "AvgRank[", "CandidateRank"})
    if (starts_with(metric, lower)) return false;
  return true;
}

std::vector<std::string> default_report_metrics(const std::vector<nlohmann::json>& runs) {
  std::vector<std::string> out = {"NDCG@10",     "Recall@10", "ARP@10",    "APLT@10",
                                  "Coverage@10", "Gini@10",   "AvgRankGap"};
  for (const auto& run : runs)
    if (run.contains("item_groups") && run["item_groups"].is_object() &&
        run["item_groups"].contains("names") && run["item_groups"]["names"].is_array())
      for (const auto& g : run["item_groups"]["names"]) {
        const std::string name =
            g.is_string() ? fmt::format("Exposure@10[{}]", g.get<std::string>()) : "";
        if (!name.empty() && std::find(out.begin(), out.end(), name) == out.end())
          out.push_back(name);
      }
  out.push_back("UserGap[NDCG@10]");
  out.erase(std::remove_if(out.begin(), out.end(),
                           [&](const std::string& m) {
                             return std::none_of(runs.begin(), runs.end(), [&](const auto& run) {
                               return metric_value(run, m).has_value();
                             });
                           }),
            out.end());
  return out;
}

namespace {

// What the phases of compute_sweep_report share: the sweep directory, each finished point's
// metrics.json, and the warnings gathered on the way.
struct PointFiles {
  fs::path directory;
  std::string metrics_file;  // a point's test metrics, relative to its run directory
  std::map<std::string, nlohmann::json> metrics_of;  // point id -> metrics.json
  std::set<std::string> warnings;

  fs::path file(const std::string& id, const char* name) const {
    return directory / "points" / id / name;
  }

  // A metric of a group over its finished seeds; a seed without it is named in the warnings,
  // and the figure's seed count shows it.
  SummaryStatistics summary(const ReportGroup& g, const std::string& metric) {
    std::vector<double> values;
    for (const auto& id : g.points) {
      if (const auto v = metric_value(metrics_of[id], metric)) {
        values.push_back(*v);
        continue;
      }
      const bool null = metrics_of[id]["metrics"].contains(metric);
      warnings.insert(fmt::format("{}: {} is {}; the figures of {} rest on the other seeds",
                                  file(id, metrics_file.c_str()).string(), metric,
                                  null ? "null (undefined in that run)" : "missing",
                                  g.group.empty() ? "(all)" : g.group));
    }
    return summarize(values);
  }
};

// sweep.json's points as groups in the plan's order, and the finished points' metrics.
void read_points(SweepReport& report, PointFiles& files) {
  const fs::path plan_file = files.directory / "sweep.json";
  std::error_code ec;
  if (!fs::exists(plan_file, ec))
    fail("{} is not a sweep directory (no sweep.json; `polyphony sweep` writes it)",
         files.directory.string());
  report.plan = required_json(plan_file);
  if (!report.plan.contains("points") || !report.plan["points"].is_array())
    fail("{}: no list of points", plan_file.string());
  std::map<std::string, size_t> group_index;
  for (const auto& point : report.plan["points"]) {
    const std::string id = point.value("id", "");
    const std::string group = point.value("group", "");
    if (id.empty()) fail("{}: a point without an id", plan_file.string());
    ++report.points_planned;
    if (!group_index.count(group)) {
      group_index[group] = report.groups.size();
      ReportGroup g;
      g.group = group;
      g.variant = point.value("variant", "");
      if (point.contains("values") && point["values"].is_array())
        for (const auto& pair : point["values"])
          g.values.emplace_back(pair.at(0).get<std::string>(), pair.at(1).get<std::string>());
      report.groups.push_back(std::move(g));
    }
    ReportGroup& g = report.groups[group_index[group]];
    ++g.planned;
    const fs::path metrics = files.file(id, files.metrics_file.c_str());
    if (!fs::exists(files.file(id, run_file::kSummary), ec) || !fs::exists(metrics, ec)) continue;
    files.metrics_of[id] = required_json(metrics);
    check_metric_values(files.metrics_of[id], metrics);
    g.points.push_back(id);
    g.seeds.push_back(point.value("seed", uint64_t{0}));
    ++report.points_finished;
  }
  if (report.points_finished == 0)
    fail("sweep {} has no finished point yet (polyphony sweep ... --status shows its state)",
         files.directory.string());
}

// The groups `baseline` names: a variant, a point group, or AXIS=VALUE (each group against the
// group of its own variant with that value, such as resn=0), and in that case the axis.
std::vector<size_t> baseline_groups(const SweepReport& report, const std::string& baseline,
                                    std::string& free_axis) {
  std::vector<size_t> chosen_groups;
  const auto equals = baseline.find('=');
  for (size_t i = 0; i < report.groups.size(); ++i) {
    const ReportGroup& g = report.groups[i];
    bool chosen = g.variant == baseline || g.group == baseline;
    for (const auto& [key, value] : g.values) {
      const std::string short_key = key.substr(key.find('.') + 1);
      if (equals != std::string::npos && value == baseline.substr(equals + 1) &&
          (key == baseline.substr(0, equals) || short_key == baseline.substr(0, equals))) {
        chosen = true;
        free_axis = key;
      }
    }
    if (chosen) chosen_groups.push_back(i);
  }
  return chosen_groups;
}

// `g` against `base` on `metric`, over the (seed, user) pairs of the same test users; nothing
// when the points have no per-user metrics (the report's note says so).
std::optional<SignificanceRow> significance_row(const ReportGroup& g, const ReportGroup& base,
                                                const std::string& metric, SweepReport& report,
                                                PointFiles& files) {
  std::vector<double> base_values, values;
  std::error_code ec;
  for (size_t s = 0; s < g.points.size(); ++s) {
    const auto match = std::find(base.seeds.begin(), base.seeds.end(), g.seeds[s]);
    if (match == base.seeds.end()) {
      files.warnings.insert(fmt::format(
          "{} seed {}: its baseline {} has no finished point of that seed, so the paired tests "
          "of {} leave the seed out",
          g.group.empty() ? "(all)" : g.group, g.seeds[s], base.group, g.group));
      continue;
    }
    const fs::path mine = files.file(g.points[s], run_file::kUserMetrics);
    const fs::path theirs = files.file(base.points[static_cast<size_t>(match - base.seeds.begin())],
                                       run_file::kUserMetrics);
    if (!fs::exists(mine, ec) || !fs::exists(theirs, ec)) {
      report.significance_note = fmt::format(
          "no per-user metrics in {} (runs write them with --user-metrics, which sweeps pass to "
          "every point)",
          (fs::exists(mine, ec) ? theirs : mine).string());
      return std::nullopt;
    }
    pair_user_metrics(theirs, mine, metric, base_values, values);
  }
  if (values.empty()) return std::nullopt;
  SignificanceRow row;
  row.group = g.group;
  row.baseline_group = base.group;
  row.metric = metric;
  row.baseline_mean = summarize(base_values).mean;
  row.group_mean = summarize(values).mean;
  row.t = paired_t_test(base_values, values);
  row.wilcoxon = wilcoxon_signed_rank(base_values, values);
  return row;
}

// Paired tests of every group against its baseline group, on each significance metric.
void add_significance(SweepReport& report, const ReportOptions& options, PointFiles& files) {
  const std::string baseline =
      options.baseline.empty() ? report.plan.value("baseline", "") : options.baseline;
  if (baseline.empty()) {
    report.significance_note =
        "no baseline: name one in the sweep file's [sweep] baseline, or pass --baseline (a "
        "variant, a point group, or AXIS=VALUE such as resn=0)";
    return;
  }
  std::string free_axis;
  const auto bases = baseline_groups(report, baseline, free_axis);
  if (bases.empty()) {
    std::vector<std::string> names;
    for (const auto& g : report.groups) names.push_back(g.group);
    fail(
        "--baseline '{}' is not a variant, a point group or an axis value of the sweep (groups: "
        "{})",
        baseline, fmt::join(names, "; "));
  }
  for (size_t i = 0; i < report.groups.size(); ++i) {
    if (std::find(bases.begin(), bases.end(), i) != bases.end()) continue;
    const auto b = matching_baseline(report.groups[i], report.groups, bases, free_axis,
                                     /*same_variant=*/!free_axis.empty());
    if (!b) continue;
    for (const auto& metric : options.significance_metrics)
      if (auto row = significance_row(report.groups[i], report.groups[*b], metric, report, files))
        report.significance.push_back(std::move(*row));
  }
  if (report.significance.empty() && report.significance_note.empty())
    report.significance_note = fmt::format(
        "no group shares seeds and axis values with a group of the baseline '{}'", baseline);
}

// A chart for each (utility, bias) pair that the runs have, with its non-dominated groups.
void add_pareto_charts(SweepReport& report, const ReportOptions& options, PointFiles& files) {
  for (const auto& [utility, bias] : options.pareto) {
    ParetoChart chart;
    chart.utility = utility;
    chart.bias = bias;
    std::vector<double> x, y;
    for (size_t i = 0; i < report.groups.size(); ++i) {
      const auto u = files.summary(report.groups[i], utility);
      const auto b = files.summary(report.groups[i], bias);
      if (u.n == 0 || b.n == 0) continue;
      chart.groups.push_back(i);
      chart.bias_values.push_back(b);
      chart.utility_values.push_back(u);
      x.push_back(b.mean);
      y.push_back(u.mean);
    }
    if (chart.groups.empty()) continue;  // the runs do not have these metrics
    chart.front = pareto_front(x, y, higher_is_better(bias), higher_is_better(utility));
    report.pareto.push_back(std::move(chart));
  }
}

}  // namespace

SweepReport compute_sweep_report(const fs::path& directory, const ReportOptions& options) {
  SweepReport report;
  report.directory = directory;
  PointFiles files{directory, options.metrics_file, {}, {}};
  report.regrouping = options.regrouping;
  read_points(report, files);
  // The default metrics: those any finished point has (a point without one is a warning).
  if (options.metrics.empty()) {
    std::vector<nlohmann::json> runs;
    for (const auto& [id, metrics] : files.metrics_of) runs.push_back(metrics);
    report.metrics = default_report_metrics(runs);
  } else {
    report.metrics = options.metrics;
  }
  for (auto& g : report.groups)
    for (const auto& m : report.metrics) g.metrics[m] = files.summary(g, m);
  for (const auto& m : report.metrics)
    if (std::none_of(report.groups.begin(), report.groups.end(),
                     [&](const ReportGroup& g) { return g.metrics.at(m).n > 0; }))
      fail("no finished point of {} has the metric {} (its metrics.json lists what there is)",
           directory.string(), m);
  add_significance(report, options, files);
  add_pareto_charts(report, options, files);
  report.warnings.assign(files.warnings.begin(), files.warnings.end());
  return report;
}

}  // namespace polyphony::cli
