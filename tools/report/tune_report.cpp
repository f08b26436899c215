#include "tools/report/tune_report.h"

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/error.h"
#include "engine/io/atomic_file.h"
#include "tools/report/plots.h"
#include "tools/run/json_file.h"

namespace polyphony::cli {
namespace {

namespace fs = std::filesystem;

std::string objective_text(double value) {
  return std::isfinite(value) ? fmt::format("{:.4g}", value) : "–";
}

bool better(double a, double b, const TuneObjective& o) { return o.maximize ? a > b : a < b; }

// The values of the complete trials, in the order of `trials`.
std::vector<const TrialRecord*> complete(const TuneReport& r) {
  std::vector<const TrialRecord*> out;
  for (const auto& t : r.trials)
    if (t.state == "complete" && t.objectives.size() == r.objectives.size()) out.push_back(&t);
  return out;
}

}  // namespace

bool is_tune_directory(const fs::path& directory) {
  std::error_code ec;
  return fs::exists(directory / "tune.json", ec);
}

TuneReport compute_tune_report(const fs::path& directory) {
  TuneReport r;
  r.directory = directory;
  r.tune = read_json_file(directory / "tune.json");
  if (!r.tune.is_object() || !r.tune.contains("objectives") || !r.tune["objectives"].is_array())
    fail("{}: damaged (not the JSON `polyphony tune` writes)", (directory / "tune.json").string());
  for (const auto& o : r.tune["objectives"])
    r.objectives.push_back({o.value("metric", ""), o.value("direction", "") == "maximize"});
  for (const auto& d : r.tune.value("space", nlohmann::json::array()))
    r.space.push_back(d.value("key", ""));
  r.trials = read_trial_records(directory);
  if (r.trials.empty())
    fail("{}: no trial has started yet (polyphony tune writes trials/N/trial.json)",
         directory.string());
  r.front = pareto_front_of(r.trials, r.objectives);
  r.chosen = chosen_trials(r.trials, r.objectives, r.tune.value("final_trials", int64_t{0}));
  return r;
}

namespace {

// The study's header: where it lives, how it searches, how far it is.
std::string study_header(const TuneReport& r) {
  std::map<std::string, int> counts;
  for (const auto& t : r.trials) ++counts[t.state];
  std::vector<std::string> objective_names;
  for (const auto& o : r.objectives)
    objective_names.push_back(fmt::format("{} {}", o.maximize ? "maximise" : "minimise", o.metric));
  return fmt::format(
      "# Tune report: {}\n\n"
      "Tune file `{}`, base config `{}`, directory `{}`, Optuna storage `{}` (study `{}`; "
      "`optuna-dashboard {}` shows it too). Sampler {}, pruner {}; objectives on the validation "
      "split: {}; each trial over seeds {}.\n\n"
      "{} of {} trials: {} complete, {} pruned, {} failed, {} running.\n",
      r.tune.value("name", ""), r.tune.value("file", ""), r.tune.value("base", ""),
      r.directory.string(), r.tune.value("storage", ""), r.tune.value("study", ""),
      r.tune.value("storage", ""), r.tune.value("sampler", ""), r.tune.value("pruner", ""),
      fmt::join(objective_names, ", "), r.tune.value("seeds", nlohmann::json::array()).dump(),
      r.trials.size(), r.tune.value("trials", int64_t{0}), counts["complete"], counts["pruned"],
      counts["failed"], counts["running"]);
}

// A row per trial: its values, state and objectives, ★ on the best or the front.
std::string trials_table(const TuneReport& r) {
  std::string out = "| trial | state |";
  std::string rule = "|---|---|";
  for (const auto& key : r.space) {
    out += fmt::format(" {} |", key);
    rule += "---|";
  }
  for (const auto& o : r.objectives) {
    out += fmt::format(" {} {} |", o.metric, o.maximize ? "↑" : "↓");
    rule += "---|";
  }
  out += "\n" + rule + "\n";
  for (size_t i = 0; i < r.trials.size(); ++i) {
    const auto& t = r.trials[i];
    std::string state = t.state;
    if (t.state == "pruned") state += fmt::format(" (epoch {})", t.last_epoch);
    out += fmt::format("| {}{} | {} |", t.number, r.front[i] ? " ★" : "", state);
    for (const auto& key : r.space)
      out += fmt::format(" {} |", t.values.count(key) ? t.values.at(key) : "–");
    for (size_t o = 0; o < r.objectives.size(); ++o)
      out += fmt::format(" {} |", o < t.objectives.size() ? objective_text(t.objectives[o]) : "–");
    out += "\n";
  }
  return out;
}

std::string chosen_list(const TuneReport& r) {
  if (r.chosen.empty()) return "No trial completed, so none is chosen.\n";
  std::string out;
  for (const auto& t : r.chosen) {
    std::vector<std::string> parts;
    for (const auto& [key, value] : t.values) parts.push_back(key + "=" + value);
    std::vector<std::string> objectives;
    for (size_t o = 0; o < r.objectives.size(); ++o)
      objectives.push_back(
          fmt::format("{} {}", r.objectives[o].metric, objective_text(t.objectives[o])));
    out += fmt::format("- trial {}: {} (validation {})\n", t.number, fmt::join(parts, ", "),
                       fmt::join(objectives, ", "));
  }
  return out;
}

}  // namespace

std::string tune_report_markdown(const TuneReport& r, const std::string& chart_file) {
  const bool single = r.objectives.size() == 1;
  std::string out = study_header(r);
  out += fmt::format("\n## Trials\n\n{}\n\n",
                     single ? "★: the best trial."
                            : "★: on the Pareto front of the objectives (no other complete trial "
                              "is as good in every objective and better in one).");
  out += trials_table(r);
  if (!chart_file.empty())
    out += fmt::format("\n![{}]({})\n", single ? "the search" : "the trials and their front",
                       chart_file);
  return out + "\n## Chosen for the final runs\n\n" + chosen_list(r);
}

nlohmann::json tune_report_json(const TuneReport& r) {
  nlohmann::json trials = nlohmann::json::array();
  for (size_t i = 0; i < r.trials.size(); ++i) {
    auto t = trial_json(r.trials[i]);
    t["front"] = static_cast<bool>(r.front[i]);
    trials.push_back(t);
  }
  nlohmann::json chosen = nlohmann::json::array();
  for (const auto& t : r.chosen) chosen.push_back(t.number);
  return {{"tune", r.tune}, {"trials", trials}, {"chosen", chosen}};
}

std::string draw_tune_chart(const TuneReport& r, const fs::path& out, bool plots) {
  const auto done = complete(r);
  if (done.empty()) return "";
  const fs::path data = out / "tune_trials.tsv";
  const fs::path png = out / "tune_trials.png";
  std::string text;
  std::string script;
  if (r.objectives.size() == 1) {
    // The optimisation history: each trial's value and the best so far.
    const auto& o = r.objectives[0];
    text = fmt::format("trial\t{}\tbest_so_far\n", o.metric);
    double best = NAN;
    for (const auto* t : done) {
      if (std::isnan(best) || better(t->objectives[0], best, o)) best = t->objectives[0];
      text += fmt::format("{}\t{}\t{}\n", t->number, t->objectives[0], best);
    }
    script = fmt::format(
        "set title 'validation {} of each complete trial' noenhanced\n"
        "set xlabel 'trial'\nset ylabel '{} ({} is better)' noenhanced\nset grid\n"
        "set key outside bottom center horizontal\nset datafile separator '\\t'\n"
        "plot '{}' skip 1 using 1:2 with points pt 7 lc rgb '#777777' title 'trial', \\\n"
        "     '{}' skip 1 using 1:3 with steps lw 2 lc rgb '#c0392b' title 'best so far'\n",
        o.metric, o.metric, o.maximize ? "higher" : "lower", data.string(), data.string());
  } else {
    // The first two objectives' plane: utility up the y axis, the other along x.
    const auto& y = r.objectives[0];
    const auto& x = r.objectives[1];
    text = fmt::format("{}\t{}\tfront\ttrial\n", x.metric, y.metric);
    std::vector<std::pair<double, double>> front;
    for (size_t i = 0; i < r.trials.size(); ++i) {
      const auto& t = r.trials[i];
      if (t.state != "complete" || t.objectives.size() != r.objectives.size()) continue;
      text += fmt::format("{}\t{}\t{}\t{}\n", t.objectives[1], t.objectives[0], r.front[i] ? 1 : 0,
                          t.number);
      if (r.front[i]) front.emplace_back(t.objectives[1], t.objectives[0]);
    }
    std::sort(front.begin(), front.end());
    std::string front_text = fmt::format("{}\t{}\n", x.metric, y.metric);
    for (const auto& [a, b] : front) front_text += fmt::format("{}\t{}\n", a, b);
    write_file_atomically(out / "tune_front.tsv", front_text);
    script = fmt::format(
        "set title 'validation {} against {} of each complete trial' noenhanced\n"
        "set xlabel '{} ({} is better)' noenhanced\nset ylabel '{} ({} is better)' noenhanced\n"
        "set grid\nset key outside bottom center horizontal\nset datafile separator '\\t'\n"
        "plot '{}' skip 1 using 1:2 with points pt 6 lc rgb '#777777' title 'trial', \\\n"
        "     '{}' skip 1 using 1:2 with linespoints pt 7 ps 1.3 lw 2 lc rgb '#c0392b' "
        "title 'Pareto front', \\\n"
        "     '{}' skip 1 using 1:2:4 with labels offset 0.6,0.6 left font ',8' notitle\n",
        y.metric, x.metric, x.metric, x.maximize ? "higher" : "lower", y.metric,
        y.maximize ? "higher" : "lower", data.string(), (out / "tune_front.tsv").string(),
        data.string());
  }
  write_file_atomically(data, text);
  if (!plots) return "";
  draw_with_gnuplot(script, png, "pass --no-plots");
  return png.filename().string();
}

}  // namespace polyphony::cli
