// What the benchmarks note about themselves for `polyphony bench` to show: each one's rate unit,
// and the training benchmarks' operators per step by name.

#include <map>
#include <mutex>

#include "benchmarks/benchmarks.h"

namespace polyphony {
namespace {

struct BenchmarkNotes {
  std::mutex mutex;
  std::map<std::string, std::string> rate_units;
  std::map<std::string, std::map<std::string, double>> operator_profiles;
};

BenchmarkNotes& notes() {
  static BenchmarkNotes notes;
  return notes;
}

// The value noted for `name` in `by_name`, or `absent`.
template <typename Value>
Value noted(const std::map<std::string, Value>& by_name, const std::string& name, Value absent) {
  const std::lock_guard<std::mutex> lock(notes().mutex);
  const auto it = by_name.find(name);
  return it == by_name.end() ? absent : it->second;
}

}  // namespace

void declare_rate_unit(const std::string& name, const std::string& unit) {
  const std::lock_guard<std::mutex> lock(notes().mutex);
  notes().rate_units[name] = unit;
}

std::string rate_unit(const std::string& name) {
  return noted(notes().rate_units, name, std::string("calls/s"));
}

void record_operator_profile(const std::string& name, std::map<std::string, double> per_step) {
  const std::lock_guard<std::mutex> lock(notes().mutex);
  notes().operator_profiles[name] = std::move(per_step);
}

std::map<std::string, double> operator_profile(const std::string& name) {
  return noted(notes().operator_profiles, name, std::map<std::string, double>{});
}

}  // namespace polyphony
