#pragma once
// A client of an MLflow tracking server's REST API (HTTP with libcurl): JSON calls under
// /api/2.0/mlflow/ and artifact uploads through the server's artifact proxy
// (/api/2.0/mlflow-artifacts/artifacts/). Every call is bounded by a timeout; a failure says
// whether trying again may help (no answer, a timeout, 429 or 5xx) or not (any other refusal).

#include <cstdint>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace polyphony {

// MLflow's timestamps: milliseconds since the Unix epoch, now.
int64_t unix_time_ms();

class MlflowError : public std::runtime_error {
 public:
  // `http_status`: the server's answer; 0 when none came (no connection, a timeout); kLocal for a
  // problem on this side that trying again will not mend (a file that cannot be read).
  static constexpr long kLocal = -1;
  MlflowError(const std::string& message, long http_status)
      : std::runtime_error(message), http_status_(http_status) {}
  long http_status() const { return http_status_; }
  bool retryable() const { return http_status_ == 0 || http_status_ == 429 || http_status_ >= 500; }

 private:
  long http_status_;
};

class MlflowClient {
 public:
  // `tracking_uri`: http(s)://HOST[:PORT][/PREFIX]; anything else is an error.
  MlflowClient(std::string tracking_uri, double timeout_seconds);

  // POST /api/2.0/mlflow/ENDPOINT with a JSON body; the JSON answer.
  nlohmann::json post(const std::string& endpoint, const nlohmann::json& body) const;
  // GET /api/2.0/mlflow/ENDPOINT?KEY=VALUE...
  nlohmann::json get(const std::string& endpoint,
                     const std::map<std::string, std::string>& query) const;
  // PUT `file` as ARTIFACT_URI/RELATIVE_PATH through the artifact proxy; the run's
  // artifact_uri must be an mlflow-artifacts: URI (a server started with artifact serving).
  void upload(const std::string& artifact_uri, const std::string& relative_path,
              const std::filesystem::path& file) const;

  // The id of the experiment `name`, created when missing (also when another process creates it
  // at the same moment).
  std::string experiment_id(const std::string& name) const;
  struct Run {
    std::string id, artifact_uri;
  };
  Run create_run(const std::string& experiment_id, const std::string& name,
                 const std::vector<std::pair<std::string, std::string>>& tags) const;

  const std::string& tracking_uri() const { return tracking_uri_; }

 private:
  std::string request(const std::string& method, const std::string& url, const std::string& body,
                      const std::string& content_type) const;

  std::string tracking_uri_;
  long timeout_ms_;
};

}  // namespace polyphony
