#include "tools/tune/tune_file.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <toml++/toml.h>

#include "common/error.h"
#include "tools/options/closest_word.h"
#include "tools/options/toml_file.h"

namespace polyphony::cli {
namespace {

namespace fs = std::filesystem;

// A number as command-line text: integers without a fraction, others in the shortest form that
// reads back the same.
std::string number_text(double value, bool integer) {
  if (integer) return fmt::format("{}", static_cast<int64_t>(std::llround(value)));
  return fmt::format("{}", value);
}

// Refuses `key` when not one of `keys`, suggesting the closest.
void check_key(const std::string& key, const std::vector<std::string>& keys,
               const std::string& where) {
  if (std::find(keys.begin(), keys.end(), key) != keys.end()) return;
  const std::string guess = closest(key, keys);
  fail("{}: unknown key{} (keys: {})", where,
       guess.empty() ? "" : fmt::format(" — did you mean '{}'?", guess), fmt::join(keys, ", "));
}

int64_t integer_in(const toml::node& node, int64_t low, int64_t high, const std::string& where) {
  const auto* value = node.as_integer();
  if (!value || value->get() < low || value->get() > high)
    fail("{}: expected an integer from {} to {}", where, low, high);
  return value->get();
}

std::string text_in(const toml::node& node, const std::vector<std::string>& allowed,
                    const std::string& where) {
  const auto* value = node.as_string();
  if (!value || std::find(allowed.begin(), allowed.end(), value->get()) == allowed.end())
    fail("{}: expected one of {}", where, fmt::join(allowed, ", "));
  return value->get();
}

std::vector<TuneObjective> read_objectives(const toml::node& node, const std::string& where) {
  const auto* array = node.as_array();
  if (!array || array->empty())
    fail(
        "{}: expected a list of validation metrics, such as [\"NDCG@10\"] or "
        "[\"NDCG@10\", \"ARP@10\"]",
        where);
  std::vector<TuneObjective> out;
  for (const auto& element : *array) {
    const auto* metric = element.as_string();
    if (!metric || metric->get().empty()) fail("{}: a metric is a name such as NDCG@10", where);
    if (std::any_of(out.begin(), out.end(),
                    [&](const TuneObjective& o) { return o.metric == metric->get(); }))
      fail("{}: {} is listed twice", where, metric->get());
    out.push_back({metric->get(), true});  // the direction: set by open_tune_study
  }
  return out;
}

// The [tune] table.
void read_tune_table(const toml::table& table, TuneFile& out) {
  const std::string name = out.file.string();
  const std::vector<std::string> keys = {"base",
                                         "trials",
                                         "objectives",
                                         "sampler",
                                         "sampler_seed",
                                         "pruner",
                                         "pruner_startup_trials",
                                         "pruner_warmup_epochs",
                                         "seeds",
                                         "final_seeds",
                                         "final_trials",
                                         "final_baseline"};
  for (const auto& [key, node] : table) {
    const std::string k(key.str());
    const std::string where = fmt::format("{}:{}: tune.{}", name, node.source().begin.line, k);
    check_key(k, keys, where);
    if (k == "base") {
      const auto* base = node.as_string();
      if (!base) fail("{}: expected the path of a run config", where);
      out.base = base_config(base->get(), out.file, where);
    } else if (k == "trials") {
      out.trials = integer_in(node, 1, kMaxTrials, where);
    } else if (k == "objectives") {
      out.objectives = read_objectives(node, where);
    } else if (k == "sampler") {
      out.sampler = text_in(node, {"tpe", "nsga2", "random"}, where);
    } else if (k == "sampler_seed") {
      out.sampler_seed = static_cast<uint64_t>(integer_in(node, 0, 1LL << 31, where));
    } else if (k == "pruner") {
      out.pruner = text_in(node, {"median", "none"}, where);
    } else if (k == "pruner_startup_trials") {
      out.pruner_startup_trials = integer_in(node, 0, kMaxTrials, where);
    } else if (k == "pruner_warmup_epochs") {
      out.pruner_warmup_epochs = integer_in(node, 0, 100000, where);
    } else if (k == "seeds") {
      out.seeds = read_seeds(node, where);
    } else if (k == "final_seeds") {
      out.final_seeds = read_seeds(node, where);
    } else if (k == "final_trials") {
      out.final_trials = integer_in(node, 1, 100, where);
    } else if (k == "final_baseline") {
      const auto* baseline = node.as_string();
      if (!baseline) fail("{}: expected the path of a run config", where);
      out.final_baseline = base_config(baseline->get(), out.file, where);
    }
  }
  if (out.base.empty()) fail("{}: [tune] has no base = \"CONFIG.toml\"", name);
  if (out.trials == 0) fail("{}: [tune] has no trials = N (how many trials to run)", name);
  if (out.objectives.empty())
    fail("{}: [tune] has no objectives = [\"METRIC\", ...] (validation metrics)", name);
}

// `step` and `log` of a numeric dimension whose bounds are read, and what they allow together.
void read_step_and_log(const toml::table& table, bool integer, SpaceDimension& d) {
  if (const auto* step = table["step"].node()) {
    if (!step->is_number() || !(step->value<double>().value_or(0) > 0))
      fail("{}: step is a positive number", d.where);
    d.step = step->value<double>().value_or(0);
  } else {
    d.step = integer ? 1 : 0;
  }
  if (const auto* log = table["log"].node()) {
    if (!log->is_boolean()) fail("{}: log is true or false", d.where);
    d.log = log->value<bool>().value_or(false);
  }
  if (!d.log) return;
  if (d.low <= 0) fail("{}: a log-uniform dimension needs low > 0", d.where);
  if (d.step != 0 && d.kind == SpaceKind::kFloat)
    fail("{}: Optuna samples a float either log-uniformly or in steps, not both", d.where);
  if (d.kind == SpaceKind::kInt && d.step != 1)
    fail("{}: a log-uniform integer has step 1", d.where);
}

// `low`/`high` (and `step`, `log`) of a numeric dimension: an integer one when all are integers.
void read_bounds(const toml::table& table, SpaceDimension& d) {
  const auto* low = table["low"].node();
  const auto* high = table["high"].node();
  if (!low || !high || !low->is_number() || !high->is_number())
    fail("{}: a numeric dimension has low and high numbers (or it lists choices = [...])", d.where);
  const auto* step = table["step"].node();
  const bool integer = low->is_integer() && high->is_integer() && (!step || step->is_integer());
  d.kind = integer ? SpaceKind::kInt : SpaceKind::kFloat;
  d.low = low->value<double>().value_or(0);
  d.high = high->value<double>().value_or(0);
  if (!(d.low < d.high)) fail("{}: low must be below high", d.where);
  read_step_and_log(table, integer, d);
}

SpaceDimension read_dimension(const TomlEntry& entry) {
  SpaceDimension d;
  d.key = entry.key;
  d.where = entry.where;
  if (std::count(d.key.begin(), d.key.end(), '.') != 1)
    fail("{}: expected SECTION.KEY (such as train.lr or model.dim)", d.where);
  const auto* table = entry.node->as_table();
  if (!table)
    fail(
        "{}: a dimension is a table: {{ low = 1e-4, high = 0.1, log = true }}, "
        "{{ low = 16, high = 128, step = 16 }} or {{ choices = [...] }}",
        d.where);
  for (const auto& [key, node] : *table)
    check_key(std::string(key.str()), {"low", "high", "step", "log", "choices"},
              fmt::format("{} ({})", d.where, key.str()));
  if (const auto* choices = (*table)["choices"].as_array()) {
    if (table->size() != 1) fail("{}: choices = [...] stands alone (no low, high, step)", d.where);
    d.kind = SpaceKind::kCategorical;
    for (const auto& element : *choices) {
      const std::string value = toml_value_text(element, d.where);
      if (std::find(d.choices.begin(), d.choices.end(), value) != d.choices.end())
        fail("{}: the choice '{}' is listed twice", d.where, value);
      d.choices.push_back(value);
    }
    if (d.choices.size() < 2) fail("{}: list at least two choices", d.where);
    return d;
  }
  read_bounds(*table, d);
  return d;
}

// What sampling, pruning and the objectives need together.
void check_study(const TuneFile& f) {
  const std::string name = f.file.string();
  if (f.space.empty()) fail("{}: [space] has no dimension to search", name);
  if (f.objectives.size() > 1 && f.pruner != "none")
    fail(
        "{}: Optuna prunes single-objective studies only; set tune.pruner = \"none\" for {} "
        "objectives",
        name, f.objectives.size());
  for (const auto& setting : f.settings)
    for (const auto& d : f.space)
      if (setting.key == d.key || setting.key == "~" + d.key)
        fail("{}: {} is searched in [space]; [set] cannot set it too", setting.where, d.key);
}

}  // namespace

TuneFile read_tune_file(const fs::path& file) {
  TuneFile out;
  std::error_code ec;
  out.file = fs::absolute(file, ec).lexically_normal();
  out.name = file.stem().string();
  const std::string name = file.string();
  const toml::table root = read_toml_file(file, "tune file");
  check_tables(root, name, {"tune", "set", "space"}, "a tune file has [tune], [set] and [space]");
  const auto* tune = root["tune"].as_table();
  if (!tune) fail("{}: no [tune] table (it names the base config and the objectives)", name);
  read_tune_table(*tune, out);
  if (const auto* set = root["set"].as_table())
    for (const auto& entry : table_entries(*set, name, "set"))
      out.settings.push_back(setting_of(entry));
  if (const auto* space = root["space"].as_table()) {
    // A dimension is a table; its own keys (low, high...) are not settings. In the file's order.
    std::vector<std::pair<int64_t, SpaceDimension>> by_line;
    for (const auto& [key, node] : *space) {
      const std::string section(key.str());
      const auto* inner = node.as_table();
      if (!inner)
        fail("{}:{}: space.{}: expected SECTION.KEY = {{ ... }}", name, node.source().begin.line,
             section);
      for (const auto& [k, dimension] : *inner) {
        const auto line = static_cast<int64_t>(dimension.source().begin.line);
        by_line.emplace_back(
            line,
            read_dimension({section + "." + std::string(k.str()), &dimension,
                            fmt::format("{}:{}: space.{}.{}", name, line, section, k.str())}));
      }
    }
    std::stable_sort(by_line.begin(), by_line.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    for (auto& [line, dimension] : by_line) out.space.push_back(std::move(dimension));
  }
  check_study(out);
  return out;
}

nlohmann::json space_json(const std::vector<SpaceDimension>& space) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& d : space) {
    nlohmann::json j = {{"key", d.key}};
    switch (d.kind) {
      case SpaceKind::kCategorical:
        j["kind"] = "categorical";
        j["choices"] = d.choices;
        break;
      case SpaceKind::kInt:
        j.update({{"kind", "int"},
                  {"low", static_cast<int64_t>(d.low)},
                  {"high", static_cast<int64_t>(d.high)},
                  {"step", static_cast<int64_t>(d.step)},
                  {"log", d.log}});
        break;
      case SpaceKind::kFloat:
        j.update({{"kind", "float"}, {"low", d.low}, {"high", d.high}, {"log", d.log}});
        if (d.step > 0) j["step"] = d.step;
        break;
    }
    out.push_back(j);
  }
  return out;
}

std::string trial_value_text(const SpaceDimension& dimension, const nlohmann::json& value) {
  if (dimension.kind == SpaceKind::kCategorical) {
    if (!value.is_string())
      fail("Optuna gave {} a choice that is not text: {}", dimension.key, value.dump());
    return value.get<std::string>();
  }
  if (!value.is_number())
    fail("Optuna gave {} a value that is not a number: {}", dimension.key, value.dump());
  return number_text(value.get<double>(), dimension.kind == SpaceKind::kInt);
}

std::string trial_setting(const SpaceDimension& dimension, const nlohmann::json& value) {
  const std::string text = trial_value_text(dimension, value);
  return text == "~" ? "~" + dimension.key : dimension.key + "=" + text;
}

}  // namespace polyphony::cli
