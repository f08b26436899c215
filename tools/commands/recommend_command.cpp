// polyphony recommend RUN_DIR: top-N items for users given by their external ids, without the
// items they already have, as CSV or JSON.

#include <torch/torch.h>

#include <unordered_map>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <cxxopts.hpp>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "engine/data/line_reader.h"
#include "engine/data/user_item_index.h"
#include "engine/eval/top_items.h"
#include "engine/run/run_directory.h"
#include "tools/commands/commands.h"
#include "tools/options/device.h"
#include "tools/run/run_loader.h"

namespace polyphony::cli {
namespace {

struct Requested {
  std::vector<std::string> ids;
  std::vector<std::string> origins;  // where each id was given, for messages
};

Requested requested_users(const cxxopts::ParseResult& args) {
  Requested r;
  if (args.count("users")) {
    std::vector<std::string_view> fields;
    const std::string list = args["users"].as<std::string>();
    split_fields(list, ",", fields);
    for (const auto& f : fields) {
      r.ids.emplace_back(f);
      r.origins.push_back("--users");
    }
  }
  if (args.count("users-file")) {
    const std::string path = args["users-file"].as<std::string>();
    LineReader reader(path);
    std::string_view line;
    while (reader.next(line)) {
      if (line.empty()) continue;
      r.ids.emplace_back(line);
      r.origins.push_back(fmt::format("{}:{}", path, reader.line_number()));
    }
  }
  return r;
}

// The dense indices of the requested users in `run`; unknown ids are refused, each named with
// where it was given.
std::vector<int64_t> dense_users(const Requested& requested, const OpenedRun& run) {
  const Dataset& d = run.data.dataset;
  std::unordered_map<std::string_view, int64_t> index;
  for (int64_t u = 0; u < d.num_users; ++u) index.emplace(d.user_ids[u], u);
  std::vector<int64_t> dense;
  std::vector<std::string> unknown;
  for (size_t i = 0; i < requested.ids.size(); ++i) {
    const auto it = index.find(requested.ids[i]);
    if (it == index.end()) {
      unknown.push_back(fmt::format("'{}' ({})", requested.ids[i], requested.origins[i]));
    } else {
      dense.push_back(it->second);
    }
  }
  if (!unknown.empty())
    fail("{} unknown user id(s), not in run {}: {}{}", unknown.size(), run.directory.string(),
         fmt::join(unknown.begin(), unknown.begin() + std::min<size_t>(unknown.size(), 5), ", "),
         unknown.size() > 5 ? ", ..." : "");
  return dense;
}

// The users' top-k lists; an item index below 0 ends a list shorter than k.
struct Recommendations {
  std::vector<int64_t> users;
  int64_t k = 0;
  at::Tensor items;   // [users, k], CPU
  at::Tensor scores;  // [users, k], CPU
};

std::string recommendations_csv(const Recommendations& r, const Dataset& d) {
  const auto* item_data = r.items.data_ptr<int64_t>();
  const auto* score_data = r.scores.data_ptr<float>();
  std::string text = "user,rank,item,score\n";
  for (size_t u = 0; u < r.users.size(); ++u)
    for (int64_t j = 0; j < r.k; ++j) {
      const int64_t item = item_data[u * r.k + j];
      if (item < 0) break;
      text += fmt::format("{},{},{},{}\n", d.user_ids[r.users[u]], j + 1, d.item_ids[item],
                          score_data[u * r.k + j]);
    }
  return text;
}

std::string recommendations_json(const Recommendations& r, const Dataset& d,
                                 const std::filesystem::path& run, const std::string& exclude) {
  const auto* item_data = r.items.data_ptr<int64_t>();
  const auto* score_data = r.scores.data_ptr<float>();
  nlohmann::json list = nlohmann::json::array();
  for (size_t u = 0; u < r.users.size(); ++u) {
    nlohmann::json ids = nlohmann::json::array(), values = nlohmann::json::array();
    for (int64_t j = 0; j < r.k && item_data[u * r.k + j] >= 0; ++j) {
      ids.push_back(d.item_ids[item_data[u * r.k + j]]);
      values.push_back(score_data[u * r.k + j]);
    }
    list.push_back({{"user", d.user_ids[r.users[u]]}, {"items", ids}, {"scores", values}});
  }
  return nlohmann::json(
             {{"run", run.string()}, {"k", r.k}, {"exclude", exclude}, {"recommendations", list}})
             .dump(2) +
         "\n";
}

cxxopts::Options recommend_options() {
  cxxopts::Options spec("polyphony recommend",
                        "Top-N items for users (external ids), without the items they already "
                        "have, from a trained run.");
  spec.add_options()("users", "comma-separated user ids", cxxopts::value<std::string>())(
      "users-file", "file with one user id per line", cxxopts::value<std::string>())(
      "all-users", "every user of the run")("k,top-k", "items per user",
                                            cxxopts::value<int64_t>()->default_value("10"))(
      "exclude", "items left out: all (every interaction in the data), train, or none",
      cxxopts::value<std::string>()->default_value("all"))(
      "format", "csv or json", cxxopts::value<std::string>()->default_value("csv"))(
      "out", "output file (default: standard output)", cxxopts::value<std::string>())(
      "batch-users", "users scored at once", cxxopts::value<int64_t>()->default_value("1024"))(
      "device", "auto, cpu or cuda", cxxopts::value<std::string>()->default_value("auto"));
  add_run_argument(spec);
  return spec;
}

// What the options ask for, each checked before the run is opened.
struct RecommendRequest {
  int64_t k = 0;
  std::string exclude, format;
  int64_t batch = 0;
  bool all_users = false;
  Requested requested;
};

RecommendRequest recommend_request(const cxxopts::ParseResult& args) {
  RecommendRequest r;
  r.k = args["top-k"].as<int64_t>();
  if (r.k < 1) fail("--top-k must be at least 1 (got {})", r.k);
  r.exclude = args["exclude"].as<std::string>();
  if (r.exclude != "all" && r.exclude != "train" && r.exclude != "none")
    fail("--exclude '{}': expected all, train or none", r.exclude);
  r.format = args["format"].as<std::string>();
  if (r.format != "csv" && r.format != "json")
    fail("--format '{}': expected csv or json", r.format);
  r.batch = args["batch-users"].as<int64_t>();
  if (r.batch < 1) fail("--batch-users must be at least 1 (got {})", r.batch);
  r.all_users = args.count("all-users") > 0;
  if (r.all_users == (args.count("users") || args.count("users-file")))
    fail("give the users with --users, --users-file or --all-users (one of them)");
  if (!r.all_users) r.requested = requested_users(args);
  if (!r.all_users && r.requested.ids.empty()) fail("no user ids given");
  return r;
}

}  // namespace

int recommend(int argc, char** argv) {
  cxxopts::Options spec = recommend_options();
  const auto parsed = parse_run_command(spec, "recommend", argc, argv);
  if (!parsed) return 0;  // --help
  const auto& args = *parsed;
  const RecommendRequest request = recommend_request(args);
  const auto device = resolve_device(args["device"].as<std::string>());

  OpenedRun run = open_run(args["run"].as<std::string>(), device);
  const Dataset& d = run.data.dataset;
  Recommendations r;
  r.k = request.k;
  if (request.all_users) {
    for (int64_t u = 0; u < d.num_users; ++u) r.users.push_back(u);
  } else {
    r.users = dense_users(request.requested, run);
  }
  std::optional<UserItemIndex> all_items;
  const UserItemIndex* excluded = nullptr;
  if (request.exclude == "all") {
    all_items.emplace(d.interactions, d.num_users, d.num_items);
    excluded = &*all_items;
  } else if (request.exclude == "train") {
    excluded = &run.data.train;
  }
  const auto users = torch::tensor(r.users, torch::kLong).to(device);
  const TopItems top = top_items(*run.model, users, r.k, excluded, request.batch);
  r.items = top.items.cpu();
  r.scores = top.scores.cpu();
  const std::string text = request.format == "csv"
                               ? recommendations_csv(r, d)
                               : recommendations_json(r, d, run.directory, request.exclude);
  if (args.count("out")) {
    write_file_atomically(args["out"].as<std::string>(), text);
  } else {
    fmt::print("{}", text);
  }
  return 0;
}

}  // namespace polyphony::cli
