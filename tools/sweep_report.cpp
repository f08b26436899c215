#include "tools/sweep_report.h"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "analysis/pareto_front.h"
#include "common/error.h"
#include "engine/run/run_directory.h"
#include "tools/json_file.h"
#include "tools/report_inputs.h"

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
  for (const char* lower :
       {"ARP", "Gini", "HeadShare", "UserGap", "UserStd", "AvgRankGap", "AvgRank["})
    if (starts_with(metric, lower)) return false;
  return true;
}

std::vector<std::string> default_report_metrics(const nlohmann::json& example) {
  std::vector<std::string> out = {"NDCG@10",     "Recall@10", "ARP@10",    "APLT@10",
                                  "Coverage@10", "Gini@10",   "AvgRankGap"};
  if (example.contains("item_groups") && example["item_groups"].contains("names"))
    for (const auto& g : example["item_groups"]["names"])
      if (g.is_string()) out.push_back(fmt::format("Exposure@10[{}]", g.get<std::string>()));
  if (metric_value(example, "UserGap[NDCG@10]")) out.push_back("UserGap[NDCG@10]");
  out.erase(std::remove_if(out.begin(), out.end(),
                           [&](const std::string& m) { return !metric_value(example, m); }),
            out.end());
  return out;
}

SweepReport compute_sweep_report(const fs::path& directory, const ReportOptions& options) {
  SweepReport report;
  report.directory = directory;
  const fs::path plan_file = directory / "sweep.json";
  std::error_code ec;
  if (!fs::exists(plan_file, ec))
    fail("{} is not a sweep directory (no sweep.json; `polyphony sweep` writes it)",
         directory.string());
  report.plan = required_json(plan_file);
  if (!report.plan.contains("points") || !report.plan["points"].is_array())
    fail("{}: no list of points", plan_file.string());

  // Finished points, by group in the plan's order.
  std::map<std::string, size_t> group_index;
  std::map<std::string, nlohmann::json> metrics_of;  // point id -> metrics.json
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
    const fs::path run = directory / "points" / id;
    if (!fs::exists(run / run_file::kSummary, ec) || !fs::exists(run / run_file::kTestMetrics, ec))
      continue;
    metrics_of[id] = required_json(run / run_file::kTestMetrics);
    check_metric_values(metrics_of[id], run / run_file::kTestMetrics);
    g.points.push_back(id);
    g.seeds.push_back(point.value("seed", uint64_t{0}));
    ++report.points_finished;
  }
  if (report.points_finished == 0)
    fail("sweep {} has no finished point yet (polyphony sweep ... --status shows its state)",
         directory.string());

  // The default metrics: those any finished point has (a point without one is a warning below).
  if (options.metrics.empty()) {
    for (const auto& [id, metrics] : metrics_of)
      for (const auto& m : default_report_metrics(metrics))
        if (std::find(report.metrics.begin(), report.metrics.end(), m) == report.metrics.end())
          report.metrics.push_back(m);
    const auto canonical = [](const std::string& m) {
      const std::vector<std::string> order = {"NDCG@10",    "Recall@10",    "ARP@10",
                                              "APLT@10",    "Coverage@10",  "Gini@10",
                                              "AvgRankGap", "Exposure@10[", "UserGap["};
      for (size_t i = 0; i < order.size(); ++i)
        if (m.rfind(order[i], 0) == 0) return i;
      return order.size();
    };
    std::stable_sort(
        report.metrics.begin(), report.metrics.end(),
        [&](const std::string& a, const std::string& b) { return canonical(a) < canonical(b); });
  } else {
    report.metrics = options.metrics;
  }
  // A metric of a group over its finished seeds; a seed without it is named in the warnings, and
  // the figure's seed count shows it.
  std::set<std::string> warnings;
  const auto summary_of = [&](const ReportGroup& g, const std::string& metric) {
    std::vector<double> values;
    for (const auto& id : g.points) {
      if (const auto v = metric_value(metrics_of[id], metric)) {
        values.push_back(*v);
        continue;
      }
      const bool null = metrics_of[id]["metrics"].contains(metric);
      warnings.insert(fmt::format("{}: {} is {}; the figures of {} rest on the other seeds",
                                  (directory / "points" / id / run_file::kTestMetrics).string(),
                                  metric, null ? "null (undefined in that run)" : "missing",
                                  g.group.empty() ? "(all)" : g.group));
    }
    return summarize(values);
  };
  for (auto& g : report.groups)
    for (const auto& m : report.metrics) g.metrics[m] = summary_of(g, m);
  for (const auto& m : report.metrics)
    if (std::none_of(report.groups.begin(), report.groups.end(),
                     [&](const ReportGroup& g) { return g.metrics.at(m).n > 0; }))
      fail("no finished point of {} has the metric {} (its metrics.json lists what there is)",
           directory.string(), m);

  // Paired tests against the baseline, over (seed, user) pairs of the same test users.
  const std::string baseline =
      options.baseline.empty() ? report.plan.value("baseline", "") : options.baseline;
  // A variant, a point group, or AXIS=VALUE: each group against the group of its own variant
  // with that value (such as resn=0: every β against no regulariser).
  std::vector<size_t> baseline_groups;
  std::string free_axis;
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
    if (chosen) baseline_groups.push_back(i);
  }
  if (baseline.empty()) {
    report.significance_note =
        "no baseline: name one in the sweep file's [sweep] baseline, or pass --baseline (a "
        "variant, a point group, or AXIS=VALUE such as resn=0)";
  } else if (baseline_groups.empty()) {
    std::vector<std::string> names;
    for (const auto& g : report.groups) names.push_back(g.group);
    fail(
        "--baseline '{}' is not a variant, a point group or an axis value of the sweep (groups: "
        "{})",
        baseline, fmt::join(names, "; "));
  } else {
    for (size_t i = 0; i < report.groups.size(); ++i) {
      if (std::find(baseline_groups.begin(), baseline_groups.end(), i) != baseline_groups.end())
        continue;
      const auto b = matching_baseline(report.groups[i], report.groups, baseline_groups, free_axis,
                                       /*same_variant=*/!free_axis.empty());
      if (!b) continue;
      const ReportGroup& g = report.groups[i];
      const ReportGroup& base = report.groups[*b];
      for (const auto& metric : options.significance_metrics) {
        std::vector<double> a_values, b_values;
        bool have_users = true;
        for (size_t s = 0; s < g.points.size() && have_users; ++s) {
          const auto match = std::find(base.seeds.begin(), base.seeds.end(), g.seeds[s]);
          if (match == base.seeds.end()) {
            warnings.insert(fmt::format(
                "{} seed {}: its baseline {} has no finished point of that seed, so the paired "
                "tests of {} leave the seed out",
                g.group.empty() ? "(all)" : g.group, g.seeds[s], base.group, g.group));
            continue;
          }
          const fs::path mine = directory / "points" / g.points[s] / run_file::kUserMetrics;
          const fs::path theirs = directory / "points" /
                                  base.points[static_cast<size_t>(match - base.seeds.begin())] /
                                  run_file::kUserMetrics;
          if (!fs::exists(mine, ec) || !fs::exists(theirs, ec)) {
            have_users = false;
            report.significance_note = fmt::format(
                "no per-user metrics in {} (runs write them with --user-metrics, which sweeps "
                "pass to every point)",
                (fs::exists(mine, ec) ? theirs : mine).string());
            break;
          }
          pair_user_metrics(theirs, mine, metric, a_values, b_values);
        }
        if (!have_users || a_values.empty()) continue;
        SignificanceRow row;
        row.group = g.group;
        row.baseline_group = base.group;
        row.metric = metric;
        row.baseline_mean = summarize(a_values).mean;
        row.group_mean = summarize(b_values).mean;
        row.t = paired_t_test(a_values, b_values);
        row.wilcoxon = wilcoxon_signed_rank(a_values, b_values);
        report.significance.push_back(std::move(row));
      }
    }
    if (report.significance.empty() && report.significance_note.empty())
      report.significance_note = fmt::format(
          "no group shares seeds and axis values with a group of the baseline '{}'", baseline);
  }

  for (const auto& [utility, bias] : options.pareto) {
    ParetoChart chart;
    chart.utility = utility;
    chart.bias = bias;
    std::vector<double> x, y;
    for (size_t i = 0; i < report.groups.size(); ++i) {
      const auto u = summary_of(report.groups[i], utility);
      const auto b = summary_of(report.groups[i], bias);
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
  report.warnings.assign(warnings.begin(), warnings.end());
  return report;
}

}  // namespace polyphony::cli
