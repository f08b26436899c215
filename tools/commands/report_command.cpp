// polyphony report: a sweep's results as tables over seeds, significance against a baseline and
// Pareto charts, in report.md, report.json and report.tsv.

#include <cmath>
#include <ctime>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <cxxopts.hpp>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/option_text.h"
#include "engine/data/data_options.h"
#include "engine/io/atomic_file.h"
#include "tools/commands/commands.h"
#include "tools/options/train_options.h"
#include "tools/report/plots.h"
#include "tools/report/regroup.h"
#include "tools/report/sweep_report.h"
#include "tools/report/tune_report.h"
#include "tools/sweep/sweep_plan.h"

namespace polyphony::cli {
namespace {

namespace fs = std::filesystem;

// NAME,NAME,... of --OPTION, none empty.
std::vector<std::string> comma_list(const std::string& text, const std::string& option,
                                    const std::string& expected) {
  std::string name = option;  // `name`, shown as --OPTION
  std::replace(name.begin(), name.end(), '-', '_');
  return OptionText(name, text, expected).fields(text, ',', 1, std::numeric_limits<size_t>::max());
}

std::string short_number(double value) {
  return std::isfinite(value) ? fmt::format("{:.4g}", value) : "–";
}

// "0.0912 ± 0.0031" (mean ± 95 % CI half-width), or the mean alone for one seed.
std::string mean_and_interval(const SummaryStatistics& s) {
  if (s.n == 0) return "–";
  if (!std::isfinite(s.ci95_half)) return short_number(s.mean);
  return fmt::format("{} ± {}", short_number(s.mean), short_number(s.ci95_half));
}

// Below the smallest double the distribution's tail underflows to 0.
std::string p_value(double p) {
  if (p == 0) return "< 1e-300";
  return p < 1e-4 ? fmt::format("{:.1e}", p) : short_number(p);
}

// An item group's exposure share is neither better high nor low (it is read against the group's
// catalogue share), so it gets no arrow.
std::string arrow(const std::string& metric) {
  if (metric.rfind("Exposure@", 0) == 0) return "";
  return higher_is_better(metric) ? "↑" : "↓";
}

nlohmann::json statistics_json(const SummaryStatistics& s) {
  return {{"n", s.n}, {"mean", s.mean}, {"sd", s.sd}, {"ci95_half_width", s.ci95_half}};
}

// The group's label in tables: its axis values, or the variant alone.
std::string row_label(const ReportGroup& g) {
  std::vector<std::string> parts;
  for (const auto& [key, value] : g.values) parts.push_back(key + "=" + value);
  return parts.empty() ? (g.variant.empty() ? "(all)" : g.variant)
                       : fmt::format("{}", fmt::join(parts, ", "));
}

std::string metrics_table(const SweepReport& report, const std::string& variant) {
  std::string out = "| point | seeds |";
  std::string rule = "|---|---|";
  for (const auto& m : report.metrics) {
    out += fmt::format(" {}{} |", m, arrow(m).empty() ? "" : " " + arrow(m));
    rule += "---|";
  }
  out += "\n" + rule + "\n";
  for (const auto& g : report.groups) {
    if (g.variant != variant) continue;
    out += fmt::format("| {} | {}/{} |", row_label(g), g.points.size(), g.planned);
    for (const auto& m : report.metrics) {
      // A figure over fewer seeds than the row's (a seed without the metric) says so.
      const auto& s = g.metrics.at(m);
      const std::string seeds = s.n < static_cast<int64_t>(g.points.size())
                                    ? fmt::format(" ({} of {} seeds)", s.n, g.points.size())
                                    : "";
      out += " " + mean_and_interval(s) + seeds + " |";
    }
    out += "\n";
  }
  return out;
}

std::string significance_table(const SweepReport& report) {
  if (report.significance.empty()) return fmt::format("{}.\n", report.significance_note);
  std::string out =
      "| point | baseline | metric | pairs | baseline mean | mean | Δ | t | p (t-test) | "
      "d_z | p (Wilcoxon) | r (rank-biserial) |\n"
      "|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& r : report.significance)
    out += fmt::format("| {} | {} | {} | {} | {} | {} | {:+.4g} | {} | {} | {} | {}{} | {} |\n",
                       r.group, r.baseline_group, r.metric, r.t.n, short_number(r.baseline_mean),
                       short_number(r.group_mean), r.t.mean_difference, short_number(r.t.t),
                       p_value(r.t.p), short_number(r.t.cohens_dz), p_value(r.wilcoxon.p),
                       r.wilcoxon.exact ? " (exact)" : "", short_number(r.wilcoxon.rank_biserial));
  return out;
}

std::string chart_name(const ParetoChart& chart) {
  return fmt::format("pareto_{}_vs_{}", id_text(chart.utility), id_text(chart.bias));
}

// Writes the chart's data (all points, and the front sorted along the x axis) and draws it.
void draw_pareto(const SweepReport& report, const ParetoChart& chart, const fs::path& out,
                 bool plots) {
  const fs::path data = out / (chart_name(chart) + ".tsv");
  const fs::path front = out / (chart_name(chart) + "_front.tsv");
  std::string all = fmt::format("{}\t{}\t{}_ci95\t{}_ci95\tfront\tgroup\n", chart.bias,
                                chart.utility, chart.bias, chart.utility);
  std::vector<std::pair<double, double>> front_points;
  const auto finite_or_zero = [](double v) { return std::isfinite(v) ? v : 0.0; };
  for (size_t i = 0; i < chart.groups.size(); ++i) {
    const auto& b = chart.bias_values[i];
    const auto& u = chart.utility_values[i];
    // The label: the group's id without "variant=", which only makes it longer.
    std::string label = report.groups[chart.groups[i]].group;
    if (label.rfind("variant=", 0) == 0) label.erase(0, 8);
    all += fmt::format("{}\t{}\t{}\t{}\t{}\t{}\n", b.mean, u.mean, finite_or_zero(b.ci95_half),
                       finite_or_zero(u.ci95_half), chart.front[i] ? 1 : 0,
                       label.empty() ? "(all)" : label);
    if (chart.front[i]) front_points.emplace_back(b.mean, u.mean);
  }
  std::sort(front_points.begin(), front_points.end());
  std::string front_text = fmt::format("{}\t{}\n", chart.bias, chart.utility);
  for (const auto& [x, y] : front_points) front_text += fmt::format("{}\t{}\n", x, y);
  write_file_atomically(data, all);
  write_file_atomically(front, front_text);
  if (!plots) return;
  draw_with_gnuplot(
      fmt::format("set title '{} against {}: mean ± 95% CI over seeds' noenhanced\n"
                  "set xlabel '{} ({} is better)' noenhanced\n"
                  "set ylabel '{} ({} is better)' noenhanced\n"
                  "set grid\nset key outside bottom center horizontal\n"
                  "set datafile separator '\\t'\nset offsets graph 0.05, graph 0.05, graph 0.05, "
                  "graph 0.05\n"
                  "plot '{}' skip 1 using 1:2:3:4 with xyerrorbars pt 6 lc rgb '#777777' "
                  "title 'point', \\\n"
                  "     '{}' skip 1 using 1:2 with linespoints pt 7 ps 1.3 lw 2 lc rgb '#c0392b' "
                  "title 'Pareto front', \\\n"
                  "     '{}' skip 1 using 1:2:6 with labels offset 0.6,0.6 left font ',8' "
                  "noenhanced notitle\n",
                  chart.utility, chart.bias, chart.bias,
                  higher_is_better(chart.bias) ? "higher" : "lower", chart.utility,
                  higher_is_better(chart.utility) ? "higher" : "lower", data.string(),
                  front.string(), data.string()),
      out / (chart_name(chart) + ".png"), "pass --no-plots");
}

nlohmann::json report_json(const SweepReport& report) {
  nlohmann::json groups = nlohmann::json::array();
  for (const auto& g : report.groups) {
    nlohmann::json values = nlohmann::json::object(), metrics = nlohmann::json::object();
    for (const auto& [key, value] : g.values) values[key] = value;
    for (const auto& [name, s] : g.metrics) metrics[name] = statistics_json(s);
    groups.push_back({{"group", g.group},
                      {"variant", g.variant},
                      {"values", values},
                      {"points", g.points},
                      {"seeds", g.seeds},
                      {"planned", g.planned},
                      {"metrics", metrics}});
  }
  nlohmann::json significance = nlohmann::json::array();
  for (const auto& r : report.significance)
    significance.push_back({{"group", r.group},
                            {"baseline_group", r.baseline_group},
                            {"metric", r.metric},
                            {"pairs", r.t.n},
                            {"baseline_mean", r.baseline_mean},
                            {"mean", r.group_mean},
                            {"mean_difference", r.t.mean_difference},
                            {"t", r.t.t},
                            {"t_test_p", r.t.p},
                            {"cohens_dz", r.t.cohens_dz},
                            {"wilcoxon_nonzero_pairs", r.wilcoxon.n},
                            {"wilcoxon_w_plus", r.wilcoxon.w_plus},
                            {"wilcoxon_w_minus", r.wilcoxon.w_minus},
                            {"wilcoxon_z", r.wilcoxon.z},
                            {"wilcoxon_p", r.wilcoxon.p},
                            {"wilcoxon_exact", r.wilcoxon.exact},
                            {"rank_biserial", r.wilcoxon.rank_biserial}});
  nlohmann::json pareto = nlohmann::json::array();
  for (const auto& chart : report.pareto) {
    nlohmann::json points = nlohmann::json::array();
    for (size_t i = 0; i < chart.groups.size(); ++i)
      points.push_back({{"group", report.groups[chart.groups[i]].group},
                        {"utility", statistics_json(chart.utility_values[i])},
                        {"bias", statistics_json(chart.bias_values[i])},
                        {"front", static_cast<bool>(chart.front[i])}});
    pareto.push_back({{"utility", chart.utility},
                      {"bias", chart.bias},
                      {"chart", chart_name(chart) + ".png"},
                      {"points", points}});
  }
  return {{"sweep", report.plan.value("name", "")},
          {"sweep_file", report.plan.value("file", "")},
          {"directory", report.directory.string()},
          {"points_planned", report.points_planned},
          {"points_finished", report.points_finished},
          {"metrics", report.metrics},
          {"groups", groups},
          {"significance", significance},
          {"significance_note", report.significance_note},
          {"pareto", pareto},
          {"warnings", report.warnings}};
}

std::string report_tsv(const SweepReport& report) {
  const auto axes = report.plan.value("axes", std::vector<std::string>{});
  std::string out = "group\tvariant";
  for (const auto& a : axes) out += "\t" + a;
  out += "\tseeds_finished\tseeds_planned";
  for (const auto& m : report.metrics)
    out += fmt::format("\t{}_mean\t{}_sd\t{}_ci95_half_width", m, m, m);
  out += "\n";
  for (const auto& g : report.groups) {
    out += g.group + "\t" + g.variant;
    for (const auto& a : axes) {
      std::string value;
      for (const auto& [key, v] : g.values)
        if (key == a) value = v;
      out += "\t" + value;
    }
    out += fmt::format("\t{}\t{}", g.points.size(), g.planned);
    for (const auto& m : report.metrics) {
      const auto& s = g.metrics.at(m);
      out += fmt::format("\t{}\t{}\t{}", s.mean, s.sd, s.ci95_half);
    }
    out += "\n";
  }
  return out;
}

// Two sweeps' groups of the same id, side by side, one table per metric.
std::string comparison_markdown(const SweepReport& mine, const SweepReport& other) {
  std::string out;
  for (const auto& m : mine.metrics) {
    out += fmt::format(
        "\n### {} {}\n\n| point | this sweep | {} | Δ (this − other) |\n"
        "|---|---|---|---|\n",
        m, arrow(m), other.directory.filename().string());
    for (const auto& g : mine.groups)
      for (const auto& o : other.groups) {
        if (o.group != g.group || !o.metrics.count(m)) continue;
        const auto& a = g.metrics.at(m);
        const auto& b = o.metrics.at(m);
        out +=
            fmt::format("| {} | {} | {} | {} |\n", g.group.empty() ? "(all)" : g.group,
                        mean_and_interval(a), mean_and_interval(b), short_number(a.mean - b.mean));
      }
  }
  return out;
}

std::string report_markdown(const SweepReport& report, const SweepReport* other) {
  const std::time_t now = std::time(nullptr);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
  std::string out = fmt::format(
      "# Sweep report: {}\n\n"
      "Sweep file `{}`, base config `{}`, directory `{}`: {} of {} points finished (written by "
      "`polyphony report` on {}).\n\n"
      "Each cell is the mean ± the half-width of its 95 % confidence interval over the finished "
      "seeds (Student t); with one seed, the value alone. ↑: higher is better, ↓: lower is "
      "better (AvgRankGap, CandidateRankGap: a negative gap favours the under-represented group); "
      "an item group's "
      "exposure share has no arrow, as it is read against the group's catalogue share. "
      "report.tsv has the standard deviations too.\n",
      report.plan.value("name", ""), report.plan.value("file", ""), report.plan.value("base", ""),
      report.directory.string(), report.points_finished, report.points_planned, date);
  if (!report.regrouping.empty()) out += fmt::format("\n**Regrouped:** {}.\n", report.regrouping);
  if (!report.warnings.empty()) {
    out += fmt::format("\n**{} warning{} about what the figures rest on:**\n\n",
                       report.warnings.size(), report.warnings.size() == 1 ? "" : "s");
    for (const auto& w : report.warnings) out += "- " + w + "\n";
  }
  std::vector<std::string> variants;
  for (const auto& g : report.groups)
    if (std::find(variants.begin(), variants.end(), g.variant) == variants.end())
      variants.push_back(g.variant);
  for (const auto& v : variants) {
    out += v.empty() ? "\n## Results\n\n" : fmt::format("\n## {}\n\n", v);
    out += metrics_table(report, v);
  }
  out += "\n## Significance against the baseline\n\n";
  if (!report.significance.empty())
    out +=
        "Paired over the same test users (every seed's users, each seed against the baseline "
        "of the same seed): the paired t-test with Cohen's d_z, and the Wilcoxon signed-rank "
        "test (zero differences dropped; exact for up to 50 pairs without ties, else the "
        "normal approximation with tie correction) with the matched-pairs rank-biserial "
        "correlation. Δ = mean − baseline mean; p-values are two-sided and not corrected "
        "for multiple comparisons.\n\n";
  out += significance_table(report);
  out += "\n## Pareto fronts\n";
  for (const auto& chart : report.pareto) {
    out += fmt::format("\n### {} against {}\n\n![{} against {}]({}.png)\n\nNon-dominated:",
                       chart.utility, chart.bias, chart.utility, chart.bias, chart_name(chart));
    for (size_t i = 0; i < chart.groups.size(); ++i)
      if (chart.front[i])
        out += fmt::format(" `{}` ({} {}, {} {});",
                           report.groups[chart.groups[i]].group.empty()
                               ? "(all)"
                               : report.groups[chart.groups[i]].group,
                           chart.utility, short_number(chart.utility_values[i].mean), chart.bias,
                           short_number(chart.bias_values[i].mean));
    out.back() = '\n';
  }
  if (report.pareto.empty()) out += "\nThe runs have none of the metric pairs asked for.\n";
  if (other) {
    out += fmt::format("\n## Compared with {}\n", other->directory.string());
    out += comparison_markdown(report, *other);
  }
  return out;
}

// A tune directory: the trials and the chart, then the final runs as a sweep report whose
// headings sit one level down.
int report_tune(const fs::path& dir, const ReportOptions& options, const fs::path& out,
                bool plots) {
  const TuneReport tune = compute_tune_report(dir);
  std::string markdown = tune_report_markdown(tune, draw_tune_chart(tune, out, plots));
  nlohmann::json json = tune_report_json(tune);
  std::error_code ec;
  size_t charts = 0;
  if (fs::exists(dir / "final" / "sweep.json", ec) && !fs::is_empty(dir / "final" / "points", ec)) {
    const SweepReport final_runs = compute_sweep_report(dir / "final", options);
    for (const auto& chart : final_runs.pareto) draw_pareto(final_runs, chart, out, plots);
    charts = final_runs.pareto.size();
    const std::string sweep_markdown = report_markdown(final_runs, nullptr);
    markdown += "\n## Final runs: the chosen trials over seeds, on the test split\n";
    std::string line;
    std::istringstream lines(sweep_markdown.substr(sweep_markdown.find('\n') + 1));
    while (std::getline(lines, line))
      markdown += (line.rfind('#', 0) == 0 ? "#" : "") + line + "\n";
    json["final"] = report_json(final_runs);
    write_file_atomically(out / "report.tsv", report_tsv(final_runs));
  } else {
    markdown +=
        "\nNo final run has finished yet (`polyphony tune` trains them when the search "
        "ends).\n";
  }
  write_file_atomically(out / "report.json", json.dump(2) + "\n");
  write_file_atomically(out / "report.md", markdown);
  fmt::print("{}\nwrote {}/{{report.md, report.json}} and {} charts\n", markdown, out.string(),
             charts + 1);
  return 0;
}

cxxopts::Options report_spec() {
  cxxopts::Options spec("polyphony report",
                        "A sweep's results: metrics over seeds with confidence intervals, paired "
                        "significance tests against a baseline, and Pareto charts; a tune "
                        "study's trials, its front, and its chosen trials' test metrics.");
  spec.add_options()("out",
                     "folder for report.md, report.json, report.tsv and the charts "
                     "(default DIR/report)",
                     cxxopts::value<std::string>())(
      "metrics",
      "metrics of the tables, comma-separated (default: NDCG@10, Recall@10, ARP@10, "
      "APLT@10, Coverage@10, Gini@10, AvgRankGap, Exposure@10[GROUP]..., "
      "UserGap[NDCG@10])",
      cxxopts::value<std::string>())(
      "baseline", "the variant (or point group) to test against (default: the sweep's baseline)",
      cxxopts::value<std::string>())(
      "significance", "per-user metrics to test, comma-separated",
      cxxopts::value<std::string>()->default_value("NDCG@10,Recall@10"))(
      "pareto", "UTILITY:BIAS pairs, comma-separated",
      cxxopts::value<std::string>()->default_value(
          "NDCG@10:ARP@10,NDCG@10:AvgRankGap,Recall@20:APLT@20"))(
      "item-groups",
      "recompute the item-group metrics under these groups (as train takes them, e.g. "
      "attribute:country=US,GB/BR,NL,PL), evaluating each finished point again without training",
      cxxopts::value<std::string>())(
      "item-attributes", "the attribute file for --item-groups (default: each run's own)",
      cxxopts::value<std::string>())("jobs", "evaluations at once for --item-groups",
                                     cxxopts::value<int>()->default_value("1"))(
      "compare", "another sweep directory, put side by side with this one",
      cxxopts::value<std::string>())("no-plots", "write the chart data but draw no PNG")(
      "h,help", "show this help")("sweep_dir", "", cxxopts::value<std::vector<std::string>>());
  spec.parse_positional({"sweep_dir"});
  spec.positional_help("SWEEP_DIR|TUNE_DIR");
  return spec;
}

// The tables, tests and charts the command line asks for.
ReportOptions report_options(const cxxopts::ParseResult& args) {
  ReportOptions options;
  if (args.count("metrics"))
    options.metrics = comma_list(args["metrics"].as<std::string>(), "metrics", "METRIC,METRIC,...");
  if (args.count("baseline")) options.baseline = args["baseline"].as<std::string>();
  options.significance_metrics =
      comma_list(args["significance"].as<std::string>(), "significance", "METRIC,METRIC,...");
  for (const auto& pair :
       comma_list(args["pareto"].as<std::string>(), "pareto", "UTILITY:BIAS,...")) {
    const auto colon = pair.find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == pair.size())
      fail("--pareto '{}': expected UTILITY:BIAS, such as NDCG@10:ARP@10", pair);
    options.pareto.emplace_back(pair.substr(0, colon), pair.substr(colon + 1));
  }
  return options;
}

// --item-groups: the finished points evaluated again under those groups, and the report reading
// those evaluations.
void regroup(const cxxopts::ParseResult& args, const fs::path& dir, ReportOptions& options) {
  if (args.count("item-attributes") && !args.count("item-groups"))
    fail("--item-attributes needs --item-groups (the groups to form from its attributes)");
  if (!args.count("item-groups")) return;
  {
    Regrouping regrouping;
    regrouping.item_groups = args["item-groups"].as<std::string>();
    parse_item_groups(regrouping.item_groups);  // a malformed spec fails before any evaluation
    if (args.count("item-attributes"))
      regrouping.item_attributes = args["item-attributes"].as<std::string>();
    regrouping.jobs = args["jobs"].as<int>();
    if (regrouping.jobs < 1 || regrouping.jobs > 256)
      fail("--jobs {}: from 1 to 256", regrouping.jobs);
    if (args.count("compare")) fail("--compare and --item-groups: one regrouped sweep at a time");
    options.metrics_file = regroup_sweep(is_tune_directory(dir) ? dir / "final" : dir, regrouping);
    options.regrouping = fmt::format(
        "item-group metrics recomputed under `{}`{} by evaluating each finished point's model "
        "again (`{}` in each point)",
        regrouping.item_groups,
        regrouping.item_attributes.empty()
            ? ""
            : fmt::format(" with the attributes of `{}`", regrouping.item_attributes.string()),
        options.metrics_file);
  }
}

}  // namespace

int report(int argc, char** argv) {
  cxxopts::Options spec = report_spec();
  const auto args =
      parse_arguments(spec, "report", std::vector<std::string>(argv + 1, argv + argc));
  if (args.count("help")) {
    fmt::print("{}\n", spec.help());
    return 0;
  }
  const auto dirs = args.count("sweep_dir") ? args["sweep_dir"].as<std::vector<std::string>>()
                                            : std::vector<std::string>{};
  if (dirs.size() != 1)
    fail(dirs.empty() ? "name a sweep or tune directory: polyphony report SWEEP_DIR"
                      : "one sweep directory at a time (compare two with --compare)");
  ReportOptions options = report_options(args);
  const fs::path dir = dirs[0];
  regroup(args, dir, options);
  const fs::path out = args.count("out") ? fs::path(args["out"].as<std::string>()) : dir / "report";
  std::error_code ec;
  if (is_tune_directory(dir)) {
    if (args.count("compare")) fail("--compare takes two sweep directories, not a tune directory");
    fs::create_directories(out, ec);
    if (ec) fail("cannot create {}: {}", out.string(), ec.message());
    return report_tune(dir, options, out, !args.count("no-plots"));
  }
  const SweepReport report = compute_sweep_report(dir, options);
  std::optional<SweepReport> other;
  if (args.count("compare")) {
    ReportOptions other_options = options;
    other_options.metrics = report.metrics;
    other = compute_sweep_report(args["compare"].as<std::string>(), other_options);
  }
  fs::create_directories(out, ec);
  if (ec) fail("cannot create {}: {}", out.string(), ec.message());
  for (const auto& chart : report.pareto) draw_pareto(report, chart, out, !args.count("no-plots"));
  auto json = report_json(report);
  if (other) json["compare"] = report_json(*other);
  const std::string markdown = report_markdown(report, other ? &*other : nullptr);
  write_file_atomically(out / "report.json", json.dump(2) + "\n");
  write_file_atomically(out / "report.tsv", report_tsv(report));
  write_file_atomically(out / "report.md", markdown);
  fmt::print("{}\nwrote {}/{{report.md, report.json, report.tsv}} and {} charts\n", markdown,
             out.string(), report.pareto.size());
  return 0;
}

}  // namespace polyphony::cli
