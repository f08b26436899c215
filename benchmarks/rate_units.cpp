#include <map>
#include <mutex>

#include "benchmarks/benchmarks.h"

namespace polyphony {
namespace {

struct RateUnits {
  std::mutex mutex;
  std::map<std::string, std::string> by_name;
};

RateUnits& rate_units() {
  static RateUnits units;
  return units;
}

}  // namespace

void declare_rate_unit(const std::string& name, const std::string& unit) {
  auto& units = rate_units();
  const std::lock_guard<std::mutex> lock(units.mutex);
  units.by_name[name] = unit;
}

std::string rate_unit(const std::string& name) {
  auto& units = rate_units();
  const std::lock_guard<std::mutex> lock(units.mutex);
  const auto it = units.by_name.find(name);
  return it == units.by_name.end() ? "calls/s" : it->second;
}

}  // namespace polyphony
