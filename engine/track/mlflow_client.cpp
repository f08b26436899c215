#include "engine/track/mlflow_client.h"

#include <curl/curl.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <memory>

#include <fmt/format.h>

#include "common/error.h"

namespace polyphony {

namespace {

// libcurl's global state, set up once before the first handle (curl_global_init is not
// thread-safe, so the first client, made on the training thread, does it).
void init_curl_once() {
  static const bool done = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  if (!done) throw MlflowError("libcurl could not be initialised", 0);
}

size_t append_to_string(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

std::string url_encoded(CURL* curl, const std::string& text) {
  std::unique_ptr<char, decltype(&curl_free)> encoded(
      curl_easy_escape(curl, text.c_str(), static_cast<int>(text.size())), curl_free);
  return encoded ? std::string(encoded.get()) : text;
}

// What the server said about a refused call: its JSON error message, or the start of the body.
std::string server_message(const std::string& body) {
  const auto json = nlohmann::json::parse(body, nullptr, false);
  if (json.is_object() && json.contains("message") && json["message"].is_string())
    return json["message"].get<std::string>();
  return body.substr(0, 200);
}

}  // namespace

int64_t unix_time_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

MlflowClient::MlflowClient(std::string tracking_uri, double timeout_seconds)
    : tracking_uri_(std::move(tracking_uri)),
      timeout_ms_(static_cast<long>(timeout_seconds * 1000)) {
  if (tracking_uri_.rfind("http://", 0) != 0 && tracking_uri_.rfind("https://", 0) != 0)
    fail(
        "`mlflow` '{}': not the http:// or https:// URI of a tracking server (MLflow's file "
        "stores are not supported)",
        tracking_uri_);
  while (!tracking_uri_.empty() && tracking_uri_.back() == '/') tracking_uri_.pop_back();
  if (timeout_ms_ <= 0) fail("`mlflow_timeout` must be positive (got {})", timeout_seconds);
  init_curl_once();
}

std::string MlflowClient::request(const std::string& method, const std::string& url,
                                  const std::string& body, const std::string& content_type) const {
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) throw MlflowError("libcurl could not make a handle", 0);
  std::string answer;
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, ("Content-Type: " + content_type).c_str());
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> header_list(headers,
                                                                          curl_slist_free_all);
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  if (method != "GET") {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms_);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms_);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);  // timeouts without SIGALRM, safe in a thread
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, append_to_string);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &answer);
  const CURLcode code = curl_easy_perform(c);
  if (code != CURLE_OK)
    throw MlflowError(fmt::format("{} {}: {}", method, url, curl_easy_strerror(code)), 0);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  if (status >= 200 && status < 300) return answer;
  throw MlflowError(fmt::format("{} {}: HTTP {}: {}", method, url, status, server_message(answer)),
                    status);
}

nlohmann::json MlflowClient::post(const std::string& endpoint, const nlohmann::json& body) const {
  const std::string answer = request("POST", tracking_uri_ + "/api/2.0/mlflow/" + endpoint,
                                     body.dump(), "application/json");
  auto json = nlohmann::json::parse(answer, nullptr, false);
  if (json.is_discarded()) throw MlflowError("POST " + endpoint + ": the answer is not JSON", 0);
  return json;
}

nlohmann::json MlflowClient::get(const std::string& endpoint,
                                 const std::map<std::string, std::string>& query) const {
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  std::string url = tracking_uri_ + "/api/2.0/mlflow/" + endpoint;
  char separator = '?';
  for (const auto& [key, value] : query) {
    url += separator + url_encoded(curl.get(), key) + "=" + url_encoded(curl.get(), value);
    separator = '&';
  }
  const std::string answer = request("GET", url, "", "application/json");
  auto json = nlohmann::json::parse(answer, nullptr, false);
  if (json.is_discarded()) throw MlflowError("GET " + endpoint + ": the answer is not JSON", 0);
  return json;
}

std::string MlflowClient::experiment_id(const std::string& name) const {
  const auto find = [&] {
    return get("experiments/get-by-name", {{"experiment_name", name}})
        .at("experiment")
        .at("experiment_id")
        .get<std::string>();
  };
  try {
    return find();
  } catch (const MlflowError& e) {
    if (e.http_status() != 404) throw;
  }
  try {
    // Tagged as model training, so that MLflow's UI opens it on its runs, not on GenAI traces.
    const nlohmann::json kind = {{"key", "mlflow.experimentKind"},
                                 {"value", "custom_model_development"}};
    return post("experiments/create", {{"name", name}, {"tags", {kind}}})
        .at("experiment_id")
        .get<std::string>();
  } catch (const MlflowError& e) {
    if (e.retryable()) throw;
    return find();  // another process created it meanwhile
  }
}

MlflowClient::Run MlflowClient::create_run(
    const std::string& experiment_id, const std::string& name,
    const std::vector<std::pair<std::string, std::string>>& tags) const {
  nlohmann::json tag_list = nlohmann::json::array();
  for (const auto& [key, value] : tags) tag_list.push_back({{"key", key}, {"value", value}});
  const auto info = post("runs/create", {{"experiment_id", experiment_id},
                                         {"run_name", name},
                                         {"start_time", unix_time_ms()},
                                         {"tags", tag_list}})
                        .at("run")
                        .at("info");
  return {info.at("run_id").get<std::string>(), info.value("artifact_uri", "")};
}

void MlflowClient::upload(const std::string& artifact_uri, const std::string& relative_path,
                          const std::filesystem::path& file) const {
  // mlflow-artifacts:/EXPERIMENT/RUN/artifacts, or mlflow-artifacts://HOST:PORT/EXPERIMENT/...
  const std::string scheme = "mlflow-artifacts:";
  if (artifact_uri.rfind(scheme, 0) != 0)
    throw MlflowError(fmt::format("the run's artifact location {} is not served by the tracking "
                                  "server (start it with artifact serving)",
                                  artifact_uri),
                      MlflowError::kLocal);
  std::string path = artifact_uri.substr(scheme.size());
  if (path.rfind("//", 0) == 0) path = path.substr(path.find('/', 2));
  std::ifstream in(file, std::ios::binary);
  if (!in) throw MlflowError("cannot read " + file.string(), MlflowError::kLocal);
  const std::string contents{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  request("PUT", tracking_uri_ + "/api/2.0/mlflow-artifacts/artifacts" + path + "/" + relative_path,
          contents, "application/octet-stream");
}

}  // namespace polyphony
