#pragma once
// One run on an MLflow tracking server, logged from a background thread so that the server can
// never slow down or stop the training: calls only queue requests. The thread sends them in
// order; when the server is unreachable or busy it keeps them (the local buffer), retries with
// back-off and says so once, and sends everything when the server is back. A request the
// server refuses for good (a 4xx) is reported and dropped.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/track/mlflow_client.h"

namespace polyphony {

struct MlflowRunOptions {
  std::string tracking_uri;
  std::string experiment;  // created when missing
  std::string run_name;
  std::string run_id;  // continue this run (a resumed training); empty: create one
  std::vector<std::pair<std::string, std::string>> tags;  // set when the run is created
  double timeout_seconds = 10;                            // per request
  double max_backoff_seconds = 30;                        // between tries, doubling from 1 s
};

class MlflowRun {
 public:
  // `say`: one line for people (warnings; called on the logging thread). `started`: the run's
  // id and experiment id once the server has them (to be kept for a resume).
  MlflowRun(
      MlflowRunOptions options, std::function<void(const std::string&)> say,
      std::function<void(const std::string& run_id, const std::string& experiment_id)> started);
  ~MlflowRun();  // stops the thread; what is not sent by then is lost (see flush)
  MlflowRun(const MlflowRun&) = delete;
  MlflowRun& operator=(const MlflowRun&) = delete;

  void log_params(const std::vector<std::pair<std::string, std::string>>& params);
  void log_metrics(int64_t step, const std::vector<std::pair<std::string, double>>& metrics);
  void set_tags(const std::vector<std::pair<std::string, std::string>>& tags);
  // Uploads `file` as the artifact `name` (the file must stay until flush returns).
  void upload(const std::string& name, const std::filesystem::path& file);
  // FINISHED, FAILED or KILLED.
  void end(const std::string& status);

  // Waits up to `seconds` for every queued request to reach the server; the number left.
  size_t flush(double seconds);

 private:
  struct Request {
    std::string endpoint;  // runs/log-batch, runs/update; empty: an upload
    nlohmann::json body;   // without run_id, which is filled in when sent
    std::string artifact;
    std::filesystem::path file;
  };
  void enqueue(Request request);
  void work();
  void start_run();
  void send(Request& request);
  bool wait_before_retry(double seconds);  // false when stopping

  MlflowRunOptions options_;
  MlflowClient client_;
  std::function<void(const std::string&)> say_;
  std::function<void(const std::string&, const std::string&)> started_;
  std::string run_id_, experiment_id_, artifact_uri_;

  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Request> queue_;
  bool sending_ = false;  // the front request is being sent
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace polyphony
