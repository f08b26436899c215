#include "tools/tune/optuna_bridge.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include <fmt/format.h>

#include "common/error.h"
#include "optuna_bridge_source.h"  // generated from tools/tune/optuna_bridge.py

extern char** environ;

namespace polyphony::cli {
namespace {

namespace fs = std::filesystem;

// The last non-empty line of `log`, where Python writes a traceback's conclusion.
std::string last_line(const fs::path& log) {
  std::ifstream in(log);
  std::string line, last;
  while (std::getline(in, line))
    if (!line.empty()) last = line;
  return last;
}

std::vector<AskedTrial> asked_trials(const nlohmann::json& list) {
  std::vector<AskedTrial> out;
  for (const auto& t : list) {
    AskedTrial trial{t.at("trial").get<int64_t>(), t.at("params"), {}};
    if (t.contains("steps")) trial.steps = t["steps"].get<std::vector<int64_t>>();
    out.push_back(std::move(trial));
  }
  return out;
}

}  // namespace

std::string bridge_python(const std::string& given) {
  if (!given.empty()) return given;
  if (const char* env = std::getenv("POLYPHONY_PYTHON"); env && *env) return env;
  std::error_code ec;
  if (fs::exists(kBuildPython, ec)) return kBuildPython;
  return "python3";
}

OptunaBridge::OptunaBridge(const std::string& python, const OptunaStudy& study, const fs::path& log)
    : log_(log) {
  // A bridge that died must be an error of the next request, not a SIGPIPE that kills the worker.
  ::signal(SIGPIPE, SIG_IGN);
  int to_child[2], from_child[2];
  if (::pipe2(to_child, O_CLOEXEC) != 0 || ::pipe2(from_child, O_CLOEXEC) != 0)
    fail("cannot create pipes for Optuna: {}", std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, to_child[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, from_child[1], STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  std::vector<std::string> arguments{python, "-c", kOptunaBridgeSource};
  std::vector<char*> argv;
  for (auto& a : arguments) argv.push_back(a.data());
  argv.push_back(nullptr);
  const int error = posix_spawnp(&pid_, python.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(to_child[0]);
  ::close(from_child[1]);
  if (error != 0) {
    ::close(to_child[1]);
    ::close(from_child[0]);
    fail("cannot start {} for Optuna: {} (name a Python with Optuna with --python)", python,
         std::strerror(error));
  }
  to_ = ::fdopen(to_child[1], "w");
  from_ = ::fdopen(from_child[0], "r");
  const auto opened = request({{"op", "open"},
                               {"storage", study.storage},
                               {"study", study.name},
                               {"directions", study.directions},
                               {"sampler", study.sampler},
                               {"seed", study.seed},
                               {"pruner", study.pruner},
                               {"startup_trials", study.startup_trials},
                               {"warmup_epochs", study.warmup_epochs},
                               {"space", study.space},
                               {"trials", study.trials},
                               {"attributes", study.attributes}});
  version_ = opened.value("optuna", "");
}

OptunaBridge::~OptunaBridge() {
  if (to_) std::fclose(to_);  // end of input: the bridge exits
  if (from_) std::fclose(from_);
  if (pid_ > 0) {
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
}

nlohmann::json OptunaBridge::request(const nlohmann::json& message) {
  const std::string line = message.dump() + "\n";
  const bool sent = std::fputs(line.c_str(), to_) >= 0 && std::fflush(to_) == 0;
  char* text = nullptr;
  size_t capacity = 0;
  const ssize_t length = sent ? ::getline(&text, &capacity, from_) : -1;
  const std::string answer = length > 0 ? std::string(text, static_cast<size_t>(length)) : "";
  std::free(text);
  if (answer.empty())
    fail("Optuna stopped while asked to {}: {} (its log: {})", message.value("op", "?"),
         last_line(log_), log_.string());
  auto reply = nlohmann::json::parse(answer, nullptr, false);
  if (reply.is_discarded() || !reply.is_object())
    fail("Optuna answered '{}' to {} (its log: {})", answer, message.value("op", "?"),
         log_.string());
  if (reply.contains("error"))
    fail("Optuna, asked to {}: {}", message.value("op", "?"), reply["error"].get<std::string>());
  return reply;
}

std::optional<AskedTrial> OptunaBridge::ask() {
  const auto reply = request({{"op", "ask"}});
  if (reply.at("trial").is_null()) return std::nullopt;
  return AskedTrial{reply["trial"].get<int64_t>(), reply.at("params"), {}};
}

std::vector<AskedTrial> OptunaBridge::running() {
  return asked_trials(request({{"op", "running"}}).at("trials"));
}

bool OptunaBridge::report(int64_t trial, int64_t step, double value) {
  return request({{"op", "report"}, {"trial", trial}, {"step", step}, {"value", value}})
      .at("prune")
      .get<bool>();
}

void OptunaBridge::tell_values(int64_t trial, const std::vector<double>& values) {
  request({{"op", "tell"}, {"trial", trial}, {"values", values}});
}

void OptunaBridge::tell_pruned(int64_t trial) {
  request({{"op", "tell"}, {"trial", trial}, {"state", "pruned"}});
}

void OptunaBridge::tell_failed(int64_t trial) {
  request({{"op", "tell"}, {"trial", trial}, {"state", "fail"}});
}

}  // namespace polyphony::cli
