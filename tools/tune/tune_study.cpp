#include "tools/tune/tune_study.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/error.h"
#include "engine/io/atomic_file.h"
#include "engine/run/run_directory.h"
#include "tools/options/train_options.h"
#include "tools/report/sweep_report.h"
#include "tools/run/json_file.h"

namespace polyphony::cli {
namespace {

namespace fs = std::filesystem;

// The parts of tune.json that decide what a trial computes: a directory started under other
// ones holds trials of another study.
nlohmann::json defining_parts(const nlohmann::json& tune) {
  nlohmann::json out = nlohmann::json::object();
  for (const char* key : {"base", "base_arguments", "objectives", "space", "settings", "seeds"})
    if (tune.contains(key)) out[key] = tune[key];
  return out;
}

void check_same_study(const nlohmann::json& recorded, const nlohmann::json& now,
                      const fs::path& file, const fs::path& directory) {
  const auto a = defining_parts(recorded), b = defining_parts(now);
  for (const auto& [key, value] : b.items()) {
    if (a.contains(key) && a[key] == value) continue;
    fail(
        "{} changes the study that {} holds ({}: {} before, {} now); undo the change, or tune "
        "into another --out",
        file.string(), directory.string(), key, a.contains(key) ? a[key].dump() : "(absent)",
        value.dump());
  }
}

// The base config's seed (with the settings of every trial), for a file that lists no seeds.
uint64_t configured_seed(const TuneStudy& study) {
  ConfigurationExpander expander;
  std::vector<std::string> given{"--config", study.file.base.string()};
  for (const auto& s : study.settings) given.insert(given.end(), {"--set", s});
  try {
    return expander.read_setup(expander.expand(given)).seed;
  } catch (const Error& e) {
    fail("{}: {}", study.file.file.string(), e.what());
  }
}

// Whether `a` is at least as good as `b` in every objective and better in one.
bool dominates(const std::vector<double>& a, const std::vector<double>& b,
               const std::vector<TuneObjective>& objectives) {
  bool better = false;
  for (size_t i = 0; i < objectives.size(); ++i) {
    const double ai = objectives[i].maximize ? a[i] : -a[i];
    const double bi = objectives[i].maximize ? b[i] : -b[i];
    if (ai < bi) return false;
    better = better || ai > bi;
  }
  return better;
}

bool is_complete(const TrialRecord& r, size_t objectives) {
  return r.state == "complete" && r.objectives.size() == objectives &&
         std::all_of(r.objectives.begin(), r.objectives.end(),
                     [](double v) { return std::isfinite(v); });
}

// The `validation` metrics of metrics.jsonl's line for `epoch` (0: the last validated one).
nlohmann::json validation_at(const fs::path& run, int64_t epoch) {
  std::ifstream in(run / run_file::kEpochLog);
  std::string line;
  nlohmann::json found;
  while (std::getline(in, line)) {
    const auto entry = nlohmann::json::parse(line, nullptr, false);
    if (entry.is_discarded() || !entry.is_object() || !entry.contains("valid")) continue;
    if (epoch == 0 || entry.value("epoch", int64_t{0}) == epoch) found = entry["valid"];
  }
  return found;
}

// A dimension's end values (or choices) as text.
std::vector<std::string> end_values(const SpaceDimension& d) {
  if (d.kind == SpaceKind::kCategorical) return d.choices;
  const auto text = [&](double v) {
    return trial_value_text(
        d, d.kind == SpaceKind::kInt ? nlohmann::json(std::llround(v)) : nlohmann::json(v));
  };
  return {text(d.low), text(d.high)};
}

// Every dimension's end values (or choices) in a whole trial's arguments, the others at their
// first: read as `polyphony train` reads them, so that a value no run accepts (a negative
// dimension, a misspelt key) is an error naming its line before any worker starts.
void check_space_values(const TuneStudy& study) {
  for (const auto& d : study.file.space) check_axis({d.key, end_values(d), d.where});
  ConfigurationExpander expander;
  std::map<std::string, std::string> first;
  for (const auto& d : study.file.space) first[d.key] = end_values(d).front();
  for (const auto& d : study.file.space)
    for (const auto& value : end_values(d)) {
      auto values = first;
      values[d.key] = value;
      std::vector<std::string> settings = study.settings;
      for (const auto& [key, text] : values) settings.push_back(value_setting(key, text));
      seeded_train_arguments(expander, study.file.base, settings, study.file.seeds.front(),
                             fmt::format("{} ({})", d.where, value));
    }
}

}  // namespace

fs::path TuneStudy::trial_directory(int64_t number) const {
  return directory / "trials" / std::to_string(number);
}
fs::path TuneStudy::run_directory(int64_t number, uint64_t seed) const {
  return trial_directory(number) / fmt::format("seed={}", seed);
}
fs::path TuneStudy::run_log(int64_t number, uint64_t seed) const {
  return directory / "logs" / fmt::format("trial={},seed={}.log", number, seed);
}

OptunaStudy TuneStudy::optuna(uint64_t worker) const {
  OptunaStudy s;
  s.storage = storage;
  s.name = study_name;
  for (const auto& o : file.objectives)
    s.directions.push_back(o.maximize ? "maximize" : "minimize");
  s.sampler = file.sampler;
  s.seed = file.sampler_seed + worker;
  s.pruner = file.pruner;
  s.startup_trials = file.pruner_startup_trials;
  s.warmup_epochs = file.pruner_warmup_epochs;
  s.space = space_json(file.space);
  s.trials = file.trials;
  nlohmann::json metrics = nlohmann::json::array();
  for (const auto& o : file.objectives) metrics.push_back(o.metric);
  s.attributes = {{"polyphony.objectives", metrics},
                  {"polyphony.tune_file", file.file.string()},
                  {"polyphony.directory", directory.string()}};
  return s;
}

std::vector<std::string> TuneStudy::trial_arguments(
    ConfigurationExpander& expander, const std::map<std::string, std::string>& values,
    uint64_t seed, int64_t number) const {
  std::vector<std::string> with_values = settings;
  for (const auto& d : file.space) {
    const auto it = values.find(d.key);
    if (it == values.end()) fail("trial {} has no value for {}", number, d.key);
    with_values.push_back(value_setting(d.key, it->second));
  }
  return seeded_train_arguments(expander, file.base, with_values, seed,
                                fmt::format("{}: trial {}", file.file.string(), number));
}

nlohmann::json TuneStudy::to_json() const {
  // The base config expanded: an edit of its contents shows as a changed study.
  ConfigurationExpander expander;
  nlohmann::json objectives = nlohmann::json::array();
  for (const auto& o : file.objectives)
    objectives.push_back(
        {{"metric", o.metric}, {"direction", o.maximize ? "maximize" : "minimize"}});
  return {{"file", file.file.string()},
          {"name", file.name},
          {"base", file.base.string()},
          {"base_arguments", expander.expand({"--config", file.base.string()})},
          {"trials", file.trials},
          {"objectives", objectives},
          {"sampler", file.sampler},
          {"sampler_seed", file.sampler_seed},
          {"pruner", file.pruner},
          {"seeds", file.seeds},
          {"final_seeds", file.final_seeds},
          {"final_trials", file.final_trials},
          {"final_baseline", file.final_baseline.string()},
          {"space", space_json(file.space)},
          {"settings", settings},
          {"storage", storage},
          {"study", study_name}};
}

TuneStudy open_tune_study(const fs::path& file, const fs::path& directory,
                          const std::vector<std::string>& settings, const std::string& storage) {
  TuneStudy study;
  study.file = read_tune_file(file);
  // The direction is the report's: utility up, popularity and gaps down.
  for (auto& o : study.file.objectives) o.maximize = higher_is_better(o.metric);
  study.settings = common_settings(study.file.settings, settings);
  std::error_code ec;
  study.directory = fs::absolute(directory, ec).lexically_normal();
  study.study_name = study.file.name;
  if (study.file.seeds.empty()) study.file.seeds = {configured_seed(study)};
  if (study.file.final_seeds.empty()) study.file.final_seeds = {1, 2, 3};
  check_space_values(study);
  const fs::path tune_json = study.directory / "tune.json";
  const auto recorded = fs::exists(tune_json, ec) ? read_json_file(tune_json) : nlohmann::json();
  if (fs::exists(tune_json, ec) && !recorded.is_object())
    fail("{}: damaged (not JSON); it records the study this directory holds", tune_json.string());
  const std::string earlier_storage = recorded.is_object() ? recorded.value("storage", "") : "";
  study.storage = !storage.empty()           ? storage
                  : !earlier_storage.empty() ? earlier_storage
                                             : (study.directory / "study.journal").string();
  if (recorded.is_object()) check_same_study(recorded, study.to_json(), file, study.directory);
  fs::create_directories(study.directory / "logs", ec);
  if (ec) fail("cannot create {}: {}", (study.directory / "logs").string(), ec.message());
  write_file_atomically(tune_json, study.to_json().dump(2) + "\n");
  return study;
}

nlohmann::json trial_json(const TrialRecord& r) {
  nlohmann::json j = {{"number", r.number},
                      {"state", r.state},
                      {"values", r.values},
                      {"seeds", r.seeds},
                      {"last_epoch", r.last_epoch}};
  j["objectives"] = r.objectives.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.objectives);
  if (!r.error.empty()) j["error"] = r.error;
  return j;
}

void write_trial_record(const TuneStudy& study, const TrialRecord& record) {
  std::error_code ec;
  fs::create_directories(study.trial_directory(record.number), ec);
  write_file_atomically(study.trial_directory(record.number) / "trial.json",
                        trial_json(record).dump(2) + "\n");
}

std::vector<TrialRecord> read_trial_records(const fs::path& directory) {
  std::vector<TrialRecord> out;
  std::error_code ec;
  if (!fs::is_directory(directory / "trials", ec)) return out;
  for (const auto& entry : fs::directory_iterator(directory / "trials", ec)) {
    const fs::path file = entry.path() / "trial.json";
    if (!fs::exists(file, ec)) continue;
    const auto j = read_json_file(file);
    try {
      TrialRecord r;
      r.number = j.at("number").get<int64_t>();
      r.state = j.at("state").get<std::string>();
      r.values = j.at("values").get<std::map<std::string, std::string>>();
      if (!j.at("objectives").is_null()) r.objectives = j["objectives"].get<std::vector<double>>();
      r.seeds = j.at("seeds").get<std::map<std::string, std::vector<double>>>();
      r.last_epoch = j.value("last_epoch", int64_t{0});
      r.error = j.value("error", "");
      out.push_back(std::move(r));
    } catch (const nlohmann::json::exception& e) {
      fail("{}: damaged trial record ({})", file.string(), e.what());
    }
  }
  std::sort(out.begin(), out.end(),
            [](const TrialRecord& a, const TrialRecord& b) { return a.number < b.number; });
  return out;
}

std::vector<bool> pareto_front_of(const std::vector<TrialRecord>& records,
                                  const std::vector<TuneObjective>& objectives) {
  std::vector<bool> front(records.size(), false);
  for (size_t i = 0; i < records.size(); ++i) {
    if (!is_complete(records[i], objectives.size())) continue;
    front[i] = std::none_of(records.begin(), records.end(), [&](const TrialRecord& other) {
      return is_complete(other, objectives.size()) &&
             dominates(other.objectives, records[i].objectives, objectives);
    });
  }
  return front;
}

std::vector<TrialRecord> chosen_trials(const std::vector<TrialRecord>& records,
                                       const std::vector<TuneObjective>& objectives,
                                       int64_t final_trials) {
  std::vector<TrialRecord> front;
  const auto on_front = pareto_front_of(records, objectives);
  for (size_t i = 0; i < records.size(); ++i)
    if (on_front[i]) front.push_back(records[i]);
  // Along the first objective, best first; equal values keep the lower trial number first.
  std::stable_sort(front.begin(), front.end(), [&](const TrialRecord& a, const TrialRecord& b) {
    return objectives[0].maximize ? a.objectives[0] > b.objectives[0]
                                  : a.objectives[0] < b.objectives[0];
  });
  const size_t limit =
      static_cast<size_t>(final_trials > 0 ? final_trials : (objectives.size() == 1 ? 1 : 10));
  if (front.size() <= limit) return front;
  if (limit == 1) return {front.front()};
  // Spread along the front: its two ends and evenly between.
  std::vector<TrialRecord> spread;
  for (size_t k = 0; k < limit; ++k)
    spread.push_back(front[static_cast<size_t>(
        std::llround(static_cast<double>(k) * static_cast<double>(front.size() - 1) /
                     static_cast<double>(limit - 1)))]);
  return spread;
}

SweepPlan final_plan(const TuneStudy& study, const std::vector<TrialRecord>& chosen) {
  SweepPlan plan;
  plan.file = study.file.file;
  plan.name = study.file.name;
  plan.base = study.file.base;
  for (const auto& d : study.file.space) plan.axes.push_back(d.key);
  plan.seeds = study.file.final_seeds;
  ConfigurationExpander expander;
  for (const auto& trial : chosen) {
    for (const uint64_t seed : plan.seeds) {
      SweepPoint point;
      point.group = fmt::format("trial={}", trial.number);
      point.id = fmt::format("{},seed={}", point.group, seed);
      point.variant = study.file.final_baseline.empty() ? "" : "chosen";
      for (const auto& d : study.file.space)
        point.values.emplace_back(d.key, trial.values.at(d.key));
      point.seed = seed;
      point.arguments = study.trial_arguments(expander, trial.values, seed, trial.number);
      plan.points.push_back(std::move(point));
    }
  }
  if (study.file.final_baseline.empty()) return plan;
  // The baseline under the study's settings, over the same seeds: the paired tests' reference.
  plan.variants = {"chosen", "baseline"};
  plan.baseline = "baseline";
  for (const uint64_t seed : plan.seeds) {
    SweepPoint point;
    point.group = "baseline";
    point.id = fmt::format("baseline,seed={}", seed);
    point.variant = "baseline";
    point.seed = seed;
    point.arguments =
        seeded_train_arguments(expander, study.file.final_baseline, study.settings, seed,
                               fmt::format("{}: final_baseline {}", study.file.file.string(),
                                           study.file.final_baseline.string()));
    plan.points.push_back(std::move(point));
  }
  return plan;
}

std::vector<double> run_objective_values(const fs::path& run,
                                         const std::vector<TuneObjective>& objectives) {
  const auto summary = read_json_file(run / run_file::kSummary);
  const int64_t best = summary.is_object() ? summary.value("best_epoch", int64_t{0}) : 0;
  auto valid = validation_at(run, best);
  if (valid.is_null() && best != 0) valid = validation_at(run, 0);
  if (!valid.is_object())
    fail(
        "{}: no validation metrics in {}; a tuned run needs a validation split and "
        "train.eval_every",
        run.string(), run_file::kEpochLog);
  std::vector<double> out;
  for (const auto& o : objectives) {
    if (!valid.contains(o.metric) || !valid[o.metric].is_number()) {
      std::vector<std::string> names;
      for (const auto& [name, value] : valid.items()) names.push_back(name);
      fail("{}: the objective {} is not among the run's validation metrics ({})", run.string(),
           o.metric, fmt::join(names, ", "));
    }
    out.push_back(valid[o.metric].get<double>());
  }
  return out;
}

}  // namespace polyphony::cli
