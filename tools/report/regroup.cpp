#include "tools/report/regroup.h"

#include <sys/wait.h>

#include <fstream>
#include <map>
#include <sstream>
#include <vector>

#include <fmt/format.h>

#include "common/error.h"
#include "engine/io/hashing.h"
#include "engine/run/run_directory.h"
#include "tools/run/child_process.h"
#include "tools/run/json_file.h"

namespace polyphony::cli {
namespace {

namespace fs = std::filesystem;

// The grouping's key: the spec, and the attribute file's path and contents.
std::string regrouping_key(const Regrouping& r) {
  std::string text = r.item_groups + "\n";
  if (!r.item_attributes.empty()) {
    std::ifstream in(r.item_attributes, std::ios::binary);
    if (!in) fail("--item-attributes {}: cannot read the file", r.item_attributes.string());
    std::ostringstream contents;
    contents << in.rdbuf();
    text += fs::absolute(r.item_attributes).string() + "\n" + contents.str();
  }
  return fmt::format("{:016x}", xxh64(text.data(), text.size()));
}

// An evaluation to run: the point, and the arguments of `polyphony eval`.
struct Evaluation {
  std::string id;
  std::vector<std::string> arguments;
  fs::path log;
};

// The finished points of `plan` without `relative` yet.
std::vector<Evaluation> missing_evaluations(const nlohmann::json& plan, const fs::path& sweep_dir,
                                            const std::string& relative,
                                            const Regrouping& regrouping) {
  const std::string self = self_executable();
  std::vector<Evaluation> out;
  std::error_code ec;
  for (const auto& point : plan["points"]) {
    const std::string id = point.value("id", "");
    const fs::path run = sweep_dir / "points" / id;
    if (id.empty() || !fs::exists(run / run_file::kSummary, ec) || fs::exists(run / relative, ec))
      continue;
    fs::create_directories((run / relative).parent_path(), ec);
    Evaluation e{id,
                 {self, "eval", run.string(), "--item-groups", regrouping.item_groups, "--write",
                  (run / relative).string()},
                 (run / relative).parent_path() / "eval.log"};
    if (!regrouping.item_attributes.empty())
      e.arguments.insert(e.arguments.end(),
                         {"--item-attributes", fs::absolute(regrouping.item_attributes).string()});
    out.push_back(std::move(e));
  }
  return out;
}

// Runs `evaluations`, `jobs` at once; after a failure nothing more starts, the running ones end,
// and the first failure is the Error.
void run_evaluations(const std::vector<Evaluation>& evaluations, const Regrouping& regrouping) {
  std::map<pid_t, const Evaluation*> running;
  std::string failure;
  size_t next = 0;
  while ((failure.empty() && next < evaluations.size()) || !running.empty()) {
    while (failure.empty() && next < evaluations.size() &&
           static_cast<int>(running.size()) < regrouping.jobs) {
      const Evaluation& e = evaluations[next++];
      running[spawn_logged(e.arguments, e.log)] = &e;
    }
    int status = 0;
    const pid_t done = ::waitpid(-1, &status, 0);
    if (done <= 0 || !running.count(done)) continue;
    const Evaluation& e = *running[done];
    running.erase(done);
    if ((!WIFEXITED(status) || WEXITSTATUS(status) != 0) && failure.empty())
      failure =
          fmt::format("point {}: the evaluation under the item groups {} failed: {} (log: {})",
                      e.id, regrouping.item_groups, error_line(e.log), e.log.string());
  }
  if (!failure.empty()) fail("{}", failure);
}

}  // namespace

std::string regroup_sweep(const fs::path& sweep_dir, const Regrouping& regrouping) {
  const auto plan = read_json_file(sweep_dir / "sweep.json");
  if (!plan.is_object() || !plan.contains("points") || !plan["points"].is_array())
    fail("{} is not a sweep directory (no readable sweep.json)", sweep_dir.string());
  const std::string relative =
      fmt::format("regrouped/{}/{}", regrouping_key(regrouping), run_file::kTestMetrics);
  const auto evaluations = missing_evaluations(plan, sweep_dir, relative, regrouping);
  if (!evaluations.empty())
    fmt::print("report: evaluating {} point{} under the item groups {}\n", evaluations.size(),
               evaluations.size() == 1 ? "" : "s", regrouping.item_groups);
  std::fflush(stdout);
  run_evaluations(evaluations, regrouping);
  return relative;
}

}  // namespace polyphony::cli
