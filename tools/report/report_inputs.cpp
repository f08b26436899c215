#include "tools/report/report_inputs.h"

#include <algorithm>
#include <cmath>
#include <fstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/error.h"

namespace polyphony::cli {
namespace fs = std::filesystem;

namespace {

// The tab-separated fields of `line`.
std::vector<std::string> tab_fields(const std::string& line) {
  std::vector<std::string> fields;
  size_t from = 0;
  for (size_t tab; (tab = line.find('\t', from)) != std::string::npos; from = tab + 1)
    fields.push_back(line.substr(from, tab - from));
  fields.push_back(line.substr(from));
  return fields;
}

}  // namespace

std::map<std::string, double> read_user_metric(const fs::path& file, const std::string& metric) {
  std::ifstream in(file);
  if (!in) fail("{}: cannot open it", file.string());
  std::string header;
  std::getline(in, header);
  const std::vector<std::string> columns = tab_fields(header);
  const auto at = std::find(columns.begin(), columns.end(), metric);
  if (at == columns.end() || at == columns.begin())
    fail("{}: no column {} (columns: {})", file.string(), metric, fmt::join(columns, ", "));
  const auto column = static_cast<size_t>(at - columns.begin());
  std::map<std::string, double> out;
  int64_t line_number = 1;
  for (std::string line; std::getline(in, line);) {
    ++line_number;
    const auto fields = tab_fields(line);
    if (fields.size() != columns.size())
      fail("{}:{}: {} fields where the header has {} (a line cut short?)", file.string(),
           line_number, fields.size(), columns.size());
    const std::string& cell = fields[column];
    double value = 0;
    try {
      size_t used = 0;
      value = std::stod(cell, &used);
      if (used != cell.size()) throw std::invalid_argument(cell);
    } catch (const std::exception&) {
      fail("{}:{}: {} '{}' is not a number", file.string(), line_number, metric, cell);
    }
    if (!std::isfinite(value))
      fail("{}:{}: {} '{}' is not a finite number", file.string(), line_number, metric, cell);
    if (!out.emplace(fields[0], value).second)
      fail("{}:{}: user '{}' is listed twice", file.string(), line_number, fields[0]);
  }
  return out;
}

void pair_user_metrics(const fs::path& baseline_file, const fs::path& file,
                       const std::string& metric, std::vector<double>& baseline_values,
                       std::vector<double>& values) {
  const auto base = read_user_metric(baseline_file, metric);
  const auto mine = read_user_metric(file, metric);
  size_t shared = 0;
  for (const auto& [user, value] : mine) shared += base.count(user);
  if (shared != base.size() || shared != mine.size())
    fail(
        "{} has {} test users and {} has {}, {} of them the same: the paired tests need the same "
        "users in both (a file cut short, or runs on other data?)",
        baseline_file.string(), base.size(), file.string(), mine.size(), shared);
  for (const auto& [user, value] : mine) {
    baseline_values.push_back(base.at(user));
    values.push_back(value);
  }
}

void check_metric_values(const nlohmann::json& metrics, const fs::path& file) {
  const auto check = [&](const nlohmann::json& value, const std::string& field) {
    if (!value.is_number() && !value.is_null())
      fail("{}: {} is {}, not a number", file.string(), field, value.dump());
    if (value.is_number() && !std::isfinite(value.get<double>()))
      fail("{}: {} is {}, not a finite number", file.string(), field, value.dump());
  };
  if (!metrics.is_object() || !metrics.contains("metrics") || !metrics["metrics"].is_object())
    fail("{}: no \"metrics\" object", file.string());
  for (const auto& [name, value] : metrics["metrics"].items())
    check(value, fmt::format("metrics.\"{}\"", name));
  if (!metrics.contains("item_groups")) return;
  const auto& groups = metrics["item_groups"];
  if (!groups.is_object() || !groups.contains("exposure_share")) return;
  for (const auto& [k, shares] : groups["exposure_share"].items()) {
    if (!shares.is_array())
      fail("{}: item_groups.exposure_share.\"{}\" is not a list", file.string(), k);
    for (size_t g = 0; g < shares.size(); ++g)
      check(shares[g], fmt::format("item_groups.exposure_share.\"{}\"[{}]", k, g));
  }
}

namespace {

// The top-`k` exposure share of item group `group` in a metrics.json, if it holds one.
std::optional<double> exposure_value(const nlohmann::json& metrics, const std::string& k,
                                     const std::string& group) {
  if (!metrics.contains("item_groups")) return std::nullopt;
  const auto& groups = metrics["item_groups"];
  if (!groups.is_object() || !groups.contains("names") || !groups["names"].is_array() ||
      !groups.contains("exposure_share") || !groups["exposure_share"].is_object() ||
      !groups["exposure_share"].contains(k) || !groups["exposure_share"][k].is_array())
    return std::nullopt;
  const auto& names = groups["names"];
  const auto& shares = groups["exposure_share"][k];
  for (size_t g = 0; g < names.size(); ++g)
    if (names[g] == group && shares.size() > g && shares[g].is_number())
      return shares[g].get<double>();
  return std::nullopt;
}

}  // namespace

std::optional<double> metric_value(const nlohmann::json& metrics, const std::string& name) {
  if (!metrics.is_object()) return std::nullopt;
  if (metrics.contains("metrics") && metrics["metrics"].is_object() &&
      metrics["metrics"].contains(name) && metrics["metrics"][name].is_number())
    return metrics["metrics"][name].get<double>();
  // Exposure@K[GROUP]
  const auto open = name.find('[');
  if (name.rfind("Exposure@", 0) == 0 && open != std::string::npos && name.back() == ']')
    return exposure_value(metrics, name.substr(9, open - 9),
                          name.substr(open + 1, name.size() - open - 2));
  return std::nullopt;
}

}  // namespace polyphony::cli
