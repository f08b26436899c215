// Any bytes read as a point's files that `polyphony report` reads: metrics.json (its values
// checked, then metrics looked up) or metrics.users.tsv (per-user values, paired with itself).
// The first byte picks the file. Every value that comes back is finite.

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "fuzz/scratch_file.h"
#include "tools/report/report_inputs.h"

namespace {

using polyphony::fuzz::require;

void read_metrics(const std::string& text) {
  const auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return;  // the report refuses what does not parse before this
  polyphony::cli::check_metric_values(json, "metrics.json");
  for (const char* name : {"NDCG@10", "AvgRankGap", "Exposure@10[US]", "Exposure@10[]",
                           "Exposure@[x]", "UserGap[NDCG@10]"})
    if (const auto value = polyphony::cli::metric_value(json, name))
      require(std::isfinite(*value), "a metric's value is finite");
}

void read_user_metrics(const std::filesystem::path& file) {
  const auto values = polyphony::cli::read_user_metric(file, "NDCG@10");
  for (const auto& [user, value] : values) require(std::isfinite(value), "values are finite");
  std::vector<double> a, b;
  polyphony::cli::pair_user_metrics(file, file, "NDCG@10", a, b);
  require(a == b && a.size() == values.size(), "a file pairs with itself, user by user");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  try {
    if (data[0] & 1) {
      read_metrics(std::string(reinterpret_cast<const char*>(data + 1), size - 1));
    } else {
      read_user_metrics(polyphony::fuzz::write_scratch("metrics.users.tsv", data + 1, size - 1));
    }
  } catch (const polyphony::Error&) {
  }
  return 0;
}
