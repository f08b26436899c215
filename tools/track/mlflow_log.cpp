#include "tools/track/mlflow_log.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>

#include "common/error.h"
#include "engine/io/atomic_file.h"
#include "engine/run/run_directory.h"
#include "engine/track/mlflow_run.h"
#include "tools/run/json_file.h"
#include "tools/sweep/slurm_script.h"
#include "tools/track/run_values.h"

namespace polyphony::cli {

namespace fs = std::filesystem;

namespace {

constexpr std::uintmax_t kLargestArtifact = 16u << 20;
// At most this long a run stopped by a signal or an error waits for the server.
constexpr double kStoppingWait = 5;

// Lines from the logging thread, one at a time.
void say(const std::string& line) {
  fmt::print(stderr, "{}\n", line);
  std::fflush(stderr);
}

std::vector<std::pair<std::string, double>> mlflow_metrics(
    const std::vector<std::pair<std::string, double>>& values) {
  std::vector<std::pair<std::string, double>> out;
  for (const auto& [name, value] : values) out.emplace_back(mlflow_name(name), value);
  return out;
}

std::vector<std::pair<std::string, std::string>> params_of(const nlohmann::json& config) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [name, value] : flat_config(config))
    out.emplace_back(mlflow_name(name),
                     value.is_string() ? value.get<std::string>() : value.dump());
  return out;
}

}  // namespace

const std::vector<Option<MlflowSettings>>& mlflow_option_list() {
  using O = OptionsOf<MlflowSettings>;
  Option<MlflowSettings> tag{"mlflow_tag", "KEY=VALUE: a tag of the MLflow run (repeatable)",
                             OptionType::kRepeated};
  tag.set = [](MlflowSettings& s, const std::string& text) {
    const auto equals = text.find('=');
    if (equals == std::string::npos || equals == 0)
      fail("`mlflow_tag` '{}': expected KEY=VALUE", text);
    s.tags.emplace_back(text.substr(0, equals), text.substr(equals + 1));
  };
  static const std::vector<Option<MlflowSettings>> options = {
      O::field("mlflow", &MlflowSettings::tracking_uri,
               "log the run to this MLflow tracking server (http://HOST:PORT): the config as "
               "params, every metrics.jsonl value, the test metrics, tags and the run's files as "
               "artifacts (default: $MLFLOW_TRACKING_URI when set)"),
      O::field("mlflow_experiment", &MlflowSettings::experiment,
               "MLflow experiment of the run (created when missing)"),
      O::field("mlflow_run_name", &MlflowSettings::run_name,
               "MLflow run name (default: the run directory's name)"),
      tag,
      O::field("mlflow_parent", &MlflowSettings::parent_run_id,
               "MLflow run id of the parent run (polyphony sweep sets it to the sweep's run)"),
      O::field("mlflow_timeout", &MlflowSettings::timeout_seconds,
               "seconds one request to the MLflow server may take; failed requests are kept and "
               "retried",
               positive<double>()),
      O::field("mlflow_wait", &MlflowSettings::wait_seconds,
               "seconds the end of the run waits for the MLflow server to take what it has not "
               "yet",
               non_negative<double>()),
  };
  return options;
}

std::string mlflow_tracking_uri(const std::string& given, const std::string& option) {
  const auto is_server = [](const std::string& uri) {
    return uri.rfind("http://", 0) == 0 || uri.rfind("https://", 0) == 0;
  };
  if (!given.empty() && !is_server(given))
    fail("{} '{}': expected the http:// or https:// URI of a tracking server", option, given);
  if (!given.empty()) return given;
  const char* environment = std::getenv("MLFLOW_TRACKING_URI");
  return environment && is_server(environment) ? environment : "";
}

std::string mlflow_name(const std::string& name) {
  std::string out;
  for (const char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '_' || c == '-' || c == '.' || c == '/' || c == ':' || c == ' ')
      out += c;
    else if (c == '@')
      out += "_at_";
    else if (c != ']')
      out += '_';
  }
  return out;
}

std::string git_commit_of(const fs::path& path) {
  std::error_code ec;
  const fs::path folder = fs::is_directory(path, ec) ? path : path.parent_path();
  if (folder.empty() || !fs::exists(folder, ec)) return "";
  // git's own errors (not a repository, no git) are dropped.
  const std::string command =
      "git -C " + shell_quoted(fs::absolute(folder, ec).string()) + " rev-parse HEAD 2>/dev/null";
  std::FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return "";
  char buffer[128] = {};
  std::string commit;
  while (std::fgets(buffer, sizeof(buffer), pipe)) commit += buffer;
  ::pclose(pipe);
  while (!commit.empty() && (commit.back() == '\n' || commit.back() == '\r')) commit.pop_back();
  return commit.size() == 40 ? commit : "";
}

std::string sweep_parent_run(const fs::path& sweep_dir, const MlflowSettings& settings,
                             const std::string& sweep_name, bool create) {
  const fs::path file = sweep_dir / kMlflowFile;
  const auto saved = read_json_file(file);
  if (saved.is_object() && saved.value("tracking_uri", "") == settings.tracking_uri)
    return saved.value("run_id", "");
  if (!create) return "";
  try {
    const MlflowClient client(settings.tracking_uri, settings.timeout_seconds);
    const std::string experiment = client.experiment_id(settings.experiment);
    const auto run = client.create_run(
        experiment, sweep_name,
        {{"polyphony.sweep", sweep_name}, {"mlflow.source.name", "polyphony sweep"}});
    write_file_atomically(file, nlohmann::json{{"tracking_uri", settings.tracking_uri},
                                               {"experiment_id", experiment},
                                               {"run_id", run.id}}
                                        .dump(2) +
                                    "\n");
    return run.id;
  } catch (const MlflowError& e) {
    say(fmt::format("warning: MLflow: no run for the sweep ({}); its points are logged alone",
                    e.what()));
    return "";
  }
}

void end_sweep_parent_run(const MlflowSettings& settings, const std::string& run_id, bool success) {
  if (run_id.empty()) return;
  try {
    MlflowClient(settings.tracking_uri, settings.timeout_seconds)
        .post("runs/update", {{"run_id", run_id}, {"status", success ? "FINISHED" : "FAILED"}});
  } catch (const MlflowError& e) {
    say(fmt::format("warning: MLflow: the sweep's run keeps its status ({})", e.what()));
  }
}

MlflowLog::MlflowLog(const fs::path& run, const MlflowSettings& settings,
                     const nlohmann::json& config,
                     std::vector<std::pair<std::string, std::string>> tags, bool resumed)
    : run_(run), settings_(settings) {
  MlflowRunOptions options;
  options.tracking_uri = settings.tracking_uri;
  options.experiment = settings.experiment;
  options.run_name =
      settings.run_name.empty() ? fs::absolute(run).filename().string() : settings.run_name;
  options.timeout_seconds = settings.timeout_seconds;
  // A resumed training continues its MLflow run when it is on this server.
  const auto saved = read_json_file(run / kMlflowFile);
  if (resumed && saved.is_object() && saved.value("tracking_uri", "") == settings.tracking_uri)
    options.run_id = saved.value("run_id", "");
  tags.insert(tags.end(), settings.tags.begin(), settings.tags.end());
  if (!settings.parent_run_id.empty())
    tags.emplace_back("mlflow.parentRunId", settings.parent_run_id);
  options.tags = tags;
  const fs::path file = run / kMlflowFile;
  const std::string uri = settings.tracking_uri;
  mlflow_ = std::make_unique<MlflowRun>(
      options, say, [file, uri](const std::string& run_id, const std::string& experiment_id) {
        try {
          write_file_atomically(file, nlohmann::json{{"tracking_uri", uri},
                                                     {"experiment_id", experiment_id},
                                                     {"run_id", run_id}}
                                              .dump(2) +
                                          "\n");
        } catch (const std::exception& e) {
          say(fmt::format("warning: {}: a resume will start a new MLflow run", e.what()));
        }
      });
  // MLflow params cannot change: a resume (which may change the epochs or the learning rate)
  // keeps the params of the run's start; command.json, uploaded at the end, has its history.
  if (!options.run_id.empty()) {
    mlflow_->set_tags({{"polyphony.resumed", "true"}});
  } else {
    mlflow_->log_params(params_of(config));
  }
}

MlflowLog::~MlflowLog() {
  if (!ended_) {  // an error ended the training, which should not wait long to say so
    mlflow_->end("FAILED");
    settings_.wait_seconds = std::min(settings_.wait_seconds, kStoppingWait);
  }
  const size_t left = mlflow_->flush(settings_.wait_seconds);
  if (left > 0)
    say(fmt::format(
        "warning: MLflow: {} request{} not taken by {} within {} s; the run's results are in {}",
        left, left == 1 ? "" : "s", settings_.tracking_uri, settings_.wait_seconds, run_.string()));
}

void MlflowLog::epoch(const nlohmann::json& epoch_line) {
  mlflow_->log_metrics(epoch_line.at("global_step"), mlflow_metrics(epoch_scalars(epoch_line)));
}

void MlflowLog::finish(int64_t step, const std::map<std::string, double>& test_metrics,
                       const fs::path& torchscript) {
  std::vector<std::pair<std::string, double>> test;
  for (const auto& [name, value] : test_metrics) test.emplace_back("test/" + name, value);
  mlflow_->log_metrics(step, mlflow_metrics(test));
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(run_, ec)) {
    const auto name = entry.path().filename().string();
    if (!entry.is_regular_file(ec) || name == run_file::kLock || name == kMlflowFile ||
        entry.path() == torchscript)
      continue;
    if (entry.file_size(ec) <= kLargestArtifact) mlflow_->upload(name, entry.path());
  }
  if (!torchscript.empty()) mlflow_->upload(torchscript.filename().string(), torchscript);
  mlflow_->end("FINISHED");
  ended_ = true;
}

void MlflowLog::interrupted() {
  mlflow_->end("KILLED");
  ended_ = true;
  // A stopped run must exit within a scheduler's grace period; its checkpoint is written.
  settings_.wait_seconds = std::min(settings_.wait_seconds, kStoppingWait);
}

}  // namespace polyphony::cli
