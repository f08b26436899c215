#include "engine/track/mlflow_run.h"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

namespace polyphony {

namespace {

// MLflow's limits per log-batch call (mlflow/utils/validation.py).
constexpr size_t kMetricsPerBatch = 1000;
constexpr size_t kParamsOrTagsPerBatch = 100;

nlohmann::json key_values(const std::vector<std::pair<std::string, std::string>>& pairs,
                          size_t from, size_t to) {
  nlohmann::json out = nlohmann::json::array();
  for (size_t i = from; i < to; ++i)
    out.push_back({{"key", pairs[i].first}, {"value", pairs[i].second}});
  return out;
}

}  // namespace

MlflowRun::MlflowRun(MlflowRunOptions options, std::function<void(const std::string&)> say,
                     std::function<void(const std::string&, const std::string&)> started)
    : options_(std::move(options)),
      client_(options_.tracking_uri, options_.timeout_seconds),
      say_(std::move(say)),
      started_(std::move(started)),
      run_id_(options_.run_id) {
  worker_ = std::thread([this] { work(); });
}

MlflowRun::~MlflowRun() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  worker_.join();
}

void MlflowRun::enqueue(Request request) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;  // the run could not be created: nothing can be sent
    queue_.push_back(std::move(request));
  }
  changed_.notify_all();
}

void MlflowRun::log_params(const std::vector<std::pair<std::string, std::string>>& params) {
  for (size_t i = 0; i < params.size(); i += kParamsOrTagsPerBatch)
    enqueue(
        {"runs/log-batch",
         {{"params", key_values(params, i, std::min(params.size(), i + kParamsOrTagsPerBatch))}},
         "",
         {}});
}

void MlflowRun::set_tags(const std::vector<std::pair<std::string, std::string>>& tags) {
  for (size_t i = 0; i < tags.size(); i += kParamsOrTagsPerBatch)
    enqueue({"runs/log-batch",
             {{"tags", key_values(tags, i, std::min(tags.size(), i + kParamsOrTagsPerBatch))}},
             "",
             {}});
}

void MlflowRun::log_metrics(int64_t step,
                            const std::vector<std::pair<std::string, double>>& metrics) {
  const int64_t timestamp = unix_time_ms();
  for (size_t i = 0; i < metrics.size(); i += kMetricsPerBatch) {
    nlohmann::json batch = nlohmann::json::array();
    for (size_t j = i; j < std::min(metrics.size(), i + kMetricsPerBatch); ++j)
      batch.push_back({{"key", metrics[j].first},
                       {"value", metrics[j].second},
                       {"timestamp", timestamp},
                       {"step", step}});
    enqueue({"runs/log-batch", {{"metrics", batch}}, "", {}});
  }
}

void MlflowRun::upload(const std::string& name, const std::filesystem::path& file) {
  enqueue({"", {}, name, file});
}

void MlflowRun::end(const std::string& status) {
  enqueue({"runs/update", {{"status", status}, {"end_time", unix_time_ms()}}, "", {}});
}

size_t MlflowRun::flush(double seconds) {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, std::chrono::duration<double>(seconds),
                    [this] { return queue_.empty() && !sending_; });
  return queue_.size();
}

bool MlflowRun::wait_before_retry(double seconds) {
  std::unique_lock lock(mutex_);
  return !changed_.wait_for(lock, std::chrono::duration<double>(seconds),
                            [this] { return stopping_; });
}

void MlflowRun::start_run() {
  if (!run_id_.empty()) {  // a resumed training: the same MLflow run, running again
    try {
      const auto run = client_.get("runs/get", {{"run_id", run_id_}});
      experiment_id_ = run.at("run").at("info").at("experiment_id").get<std::string>();
      artifact_uri_ = run.at("run").at("info").value("artifact_uri", "");
      client_.post("runs/update", {{"run_id", run_id_}, {"status", "RUNNING"}});
      return;
    } catch (const MlflowError& e) {
      if (e.http_status() != 404) throw;
      say_(fmt::format("MLflow: run {} is not on {}; starting a new run", run_id_,
                       client_.tracking_uri()));
      run_id_.clear();
    }
  }
  experiment_id_ = client_.experiment_id(options_.experiment);
  const auto run = client_.create_run(experiment_id_, options_.run_name, options_.tags);
  run_id_ = run.id;
  artifact_uri_ = run.artifact_uri;
  started_(run_id_, experiment_id_);
}

void MlflowRun::send(Request& request) {
  if (request.endpoint.empty()) {
    client_.upload(artifact_uri_, request.artifact, request.file);
    return;
  }
  request.body["run_id"] = run_id_;
  client_.post(request.endpoint, request.body);
}

void MlflowRun::work() {
  bool started = false, failing = false;
  double backoff = 1;
  for (;;) {
    Request request;
    const bool sending = started;  // else: creating the run first
    {
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [&] { return stopping_ || !started || !queue_.empty(); });
      if (stopping_) return;
      if (sending) {
        request = queue_.front();
        sending_ = true;
      }
    }
    try {
      if (sending) {
        send(request);
      } else {
        start_run();
        started = true;
      }
      if (failing)
        say_(
            fmt::format("MLflow: {} answers again; sending what was kept", client_.tracking_uri()));
      failing = false;
      backoff = 1;
      if (sending) {
        std::lock_guard lock(mutex_);
        queue_.pop_front();
      }
    } catch (const std::exception& e) {
      const auto* mlflow = dynamic_cast<const MlflowError*>(&e);
      if (mlflow && mlflow->retryable()) {
        if (!failing)
          say_(
              fmt::format("warning: MLflow server {} does not answer ({}); metrics are kept and "
                          "sent when it does, training goes on",
                          client_.tracking_uri(), e.what()));
        failing = true;
        {
          std::lock_guard lock(mutex_);
          sending_ = false;
        }
        changed_.notify_all();
        if (!wait_before_retry(backoff)) return;
        backoff = std::min(2 * backoff, options_.max_backoff_seconds);
        continue;
      }
      say_(fmt::format("warning: MLflow refused {}: {}; left out",
                       !sending                   ? "the run"
                       : request.endpoint.empty() ? "an artifact upload"
                                                  : request.endpoint,
                       e.what()));
      std::lock_guard lock(mutex_);
      if (!sending) {  // no run to log to: nothing queued can be sent
        queue_.clear();
        stopping_ = true;
      } else {
        queue_.pop_front();
      }
    }
    {
      std::lock_guard lock(mutex_);
      sending_ = false;
    }
    changed_.notify_all();
  }
}

}  // namespace polyphony
