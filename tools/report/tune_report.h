#pragma once
// What `polyphony report` shows of a tune directory (tools/tune/tune_study.h): every trial with
// its state, values and validation objectives, the best trial or the Pareto front, a chart of the
// search, and the chosen trials' test metrics over the final seeds (the sweep in TUNE_DIR/final,
// reported as any sweep).

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/tune/tune_study.h"

namespace polyphony::cli {

struct TuneReport {
  std::filesystem::path directory;
  nlohmann::json tune;  // tune.json
  std::vector<TuneObjective> objectives;
  std::vector<std::string> space;   // the searched keys
  std::vector<TrialRecord> trials;  // by number
  std::vector<bool> front;          // each trial: the best (one objective) or on the front
  std::vector<TrialRecord> chosen;  // what the final runs retrain
};

// Whether `directory` holds a tune study (tune.json).
bool is_tune_directory(const std::filesystem::path& directory);

// Reads tune.json and every trial.json; a damaged file is an Error naming it.
TuneReport compute_tune_report(const std::filesystem::path& directory);

// The tune sections of report.md: the study, the trials table, the chart.
std::string tune_report_markdown(const TuneReport& report, const std::string& chart_file);

nlohmann::json tune_report_json(const TuneReport& report);

// Writes the chart's data (OUT/tune_trials.tsv) and, when `plots`, draws OUT/tune_trials.png:
// two objectives, the trials in their plane with the front; one, each trial's value by number
// with the best so far. Returns the PNG's file name.
std::string draw_tune_chart(const TuneReport& report, const std::filesystem::path& out, bool plots);

}  // namespace polyphony::cli
