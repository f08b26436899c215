// polyphony analyze RUN_DIR|CHECKPOINT: where a trained model puts popularity. The spectrum of
// the score matrix and its principal direction's alignment with popularity (the ReSN paper's
// diagnosis), the spikiness of the item factors, how scores follow popularity, and the exposure
// and rank disparity of the item groups; a JSON summary and PNG charts.

#include <torch/torch.h>

#include <cmath>
#include <filesystem>

#include <fmt/format.h>
#include <cxxopts.hpp>

#include "analysis/spectral_diagnostics.h"
#include "analysis/spikiness.h"
#include "common/error.h"
#include "engine/eval/evaluator.h"
#include "engine/run/run_directory.h"
#include "tools/commands/commands.h"
#include "tools/options/device.h"
#include "tools/report/plots.h"
#include "tools/run/run_loader.h"

namespace polyphony::cli {
namespace fs = std::filesystem;
namespace {

double pearson(const at::Tensor& x, const at::Tensor& y) {
  auto a = x.to(torch::kDouble) - x.to(torch::kDouble).mean();
  auto b = y.to(torch::kDouble) - y.to(torch::kDouble).mean();
  const double denominator = (a.norm() * b.norm()).item<double>();
  return denominator > 0 ? (a * b).sum().item<double>() / denominator : std::nan("");
}

// Where an analysis writes and what it draws.
struct AnalysisOutput {
  fs::path folder;
  bool plots = true;
  nlohmann::json summary;
};

// The spectrum of U Vᵀ, the item factors' spikiness and how scores follow popularity, for a
// model with score factors.
void spectral_analysis(const ScoreFactors& factors, const at::Tensor& popularity, int64_t top,
                       c10::Device device, AnalysisOutput& out) {
  const auto spectrum =
      spectral_diagnostics(factors.users, factors.items, popularity.to(device), top);
  out.summary["spectral"] = spectrum.to_json();
  SpikinessOptions spk_options;
  spk_options.dims = std::min<int64_t>(spk_options.dims, factors.items.size(1));
  const auto spk = spikiness(factors.items.cpu(), spk_options);
  out.summary["spikiness"] = {{"spikes", spk.spikes},
                              {"share", spk.share},
                              {"rows", spk.rows},
                              {"dims", spk_options.dims},
                              {"cosine", spk_options.cosine}};
  // An item's mean score over all users: V · mean(U).
  const auto mean_score = torch::mv(factors.items, factors.users.mean(0)).cpu();
  const auto log_popularity = torch::log10(popularity + 1.0);
  const double correlation = pearson(log_popularity, mean_score);
  out.summary["popularity_score"] = {{"pearson_log10_popularity_mean_score", correlation}};
  fmt::print(
      "  score matrix: σ1 {:.3g} ({:.1f}% of Σσ), |cos(principal item direction, popularity)| "
      "{:.4f}\n  item factors: Spk@{} = {} spikes cover half of {} items ({:.2f}%)\n"
      "  scores and popularity: Pearson(log10 popularity, mean score) = {:.4f}\n",
      spectrum.singular_values.front(), 100 * spectrum.first_singular_share,
      spectrum.principal_popularity_cosine, spk_options.dims, spk.spikes, spk.rows, 100 * spk.share,
      correlation);
  Table sv{{"index", "singular_value"}, {}};
  for (size_t i = 0; i < spectrum.singular_values.size(); ++i)
    sv.rows.push_back({static_cast<double>(i + 1), spectrum.singular_values[i]});
  write_table(out.folder / "spectrum.tsv", sv);
  Table scatter{{"log10_popularity", "mean_score"}, {}};
  const auto* lp = log_popularity.data_ptr<double>();
  const auto ms = mean_score.to(torch::kDouble);
  const auto* m = ms.data_ptr<double>();
  for (int64_t i = 0; i < popularity.size(0); ++i) scatter.rows.push_back({lp[i], m[i]});
  write_table(out.folder / "popularity_score.tsv", scatter);
  if (!out.plots) return;
  draw_with_gnuplot(fmt::format("set title 'Singular values of the score matrix U V^T'\n"
                                "set xlabel 'index'\nset ylabel 'singular value'\n"
                                "set logscale y\nset grid\n"
                                "plot '{}' using 1:2 skip 1 with linespoints pt 7 title ''\n",
                                (out.folder / "spectrum.tsv").string()),
                    out.folder / "spectrum.png", "pass --no-plots");
  draw_with_gnuplot(fmt::format("set title 'Item popularity and mean score'\n"
                                "set xlabel 'log10(1 + training interactions)'\n"
                                "set ylabel 'mean score over users'\nset grid\n"
                                "plot '{}' using 1:2 skip 1 with points pt 7 ps 0.4 title ''\n",
                                (out.folder / "popularity_score.tsv").string()),
                    out.folder / "popularity_score.png", "pass --no-plots");
}

// The item groups' share of the catalogue and of the top-k slots, with their average ranks.
void group_exposure_analysis(const EvaluationResult& result, int64_t k, AnalysisOutput& out) {
  const auto& exposure = result.group_exposure_share.at(k);
  out.summary["item_groups"] = {{"attribute", result.group_attribute},
                                {"names", result.group_names},
                                {"catalogue_share", result.group_catalogue_share},
                                {"exposure_share", exposure},
                                {"avg_rank", result.group_avg_rank},
                                {"avg_rank_gap", result.avg_rank_gap},
                                {"over", result.over_group},
                                {"under", result.under_group}};
  fmt::print("  item groups by {} (exposure in the top {}):\n", result.group_attribute, k);
  Table bars{{"group", "catalogue_share", "exposure_share"}, {}};
  for (size_t g = 0; g < result.group_names.size(); ++g) {
    fmt::print("    {:<12} catalogue {:.4f}  exposure {:.4f}  avg rank {:.1f}\n",
               result.group_names[g], result.group_catalogue_share[g], exposure[g],
               result.group_avg_rank[g]);
    bars.rows.push_back({static_cast<double>(g), result.group_catalogue_share[g], exposure[g]});
  }
  fmt::print("    avg-rank gap ({} − {}): {:.1f}\n", result.under_group, result.over_group,
             result.avg_rank_gap);
  write_table(out.folder / "group_exposure.tsv", bars);
  if (!out.plots) return;
  std::string labels;
  for (size_t g = 0; g < result.group_names.size(); ++g)
    labels += fmt::format("{}'{}' {}", g ? ", " : "", result.group_names[g], g);
  draw_with_gnuplot(
      fmt::format("set title 'Item groups: share of the catalogue and of the top-{} slots'\n"
                  "set style data histogram\nset style histogram clustered gap 1\n"
                  "set style fill solid 0.8 border -1\nset ylabel 'share'\n"
                  "set yrange [0:*]\nset grid ytics\nset xtics ({})\n"
                  "plot '{}' using 2 skip 1 title 'catalogue', '' using 3 skip 1 title "
                  "'exposure (top {})'\n",
                  k, labels, (out.folder / "group_exposure.tsv").string(), k),
      out.folder / "group_exposure.png", "pass --no-plots");
}

// The run's test recommendations at cut-off `k` (added to the run's own cut-offs).
EvaluationResult test_evaluation(const OpenedRun& run, int64_t k, c10::Device device) {
  EvaluatorOptions options = run.setup.eval;
  if (std::find(options.ks.begin(), options.ks.end(), k) == options.ks.end())
    options.ks.push_back(k);
  std::sort(options.ks.begin(), options.ks.end());
  return Evaluator(run.data.train, run.data.dataset.item_groups, options, device,
                   run.data.user_groups)
      .evaluate(*run.model, run.data.seen, run.data.test, "test");
}

cxxopts::Options analyze_options() {
  cxxopts::Options spec("polyphony analyze",
                        "Spectral diagnostics, spikiness, popularity of scores and item-group "
                        "exposure of a trained model, with a JSON summary and PNG charts.");
  spec.add_options()("out", "output folder (default RUN_DIR/analysis)",
                     cxxopts::value<std::string>())("k,top-k", "cut-off of the exposure analysis",
                                                    cxxopts::value<int64_t>()->default_value("10"))(
      "singular-values", "singular values reported and drawn",
      cxxopts::value<int64_t>()->default_value("50"))("no-plots", "JSON and data files only")(
      "device", "auto, cpu or cuda", cxxopts::value<std::string>()->default_value("auto"));
  add_run_argument(spec);
  return spec;
}

}  // namespace

int analyze(int argc, char** argv) {
  cxxopts::Options spec = analyze_options();
  const auto parsed = parse_run_command(spec, "analyze", argc, argv);
  if (!parsed) return 0;  // --help
  const auto& args = *parsed;
  const int64_t k = args["top-k"].as<int64_t>();
  if (k < 1) fail("--top-k must be at least 1 (got {})", k);
  const int64_t top = args["singular-values"].as<int64_t>();
  if (top < 1) fail("--singular-values must be at least 1 (got {})", top);
  AnalysisOutput out;
  out.plots = args.count("no-plots") == 0;
  const auto device = resolve_device(args["device"].as<std::string>());

  OpenedRun run = open_run(args["run"].as<std::string>(), device);
  out.folder =
      args.count("out") ? fs::path(args["out"].as<std::string>()) : run.directory / "analysis";
  std::error_code ec;
  fs::create_directories(out.folder, ec);
  if (ec) fail("cannot create {}: {}", out.folder.string(), ec.message());
  const auto& d = run.data.dataset;
  const auto popularity =
      torch::bincount(run.data.split.train.items, {}, d.num_items).to(torch::kDouble);
  out.summary = {{"run", run.directory.string()},
                 {"parameters", run.parameters_from},
                 {"model", run.model->kind()}};
  fmt::print("analysis of run {} (model {}, parameters from {})\n", run.directory.string(),
             run.model->kind(), run.parameters_from);

  torch::NoGradGuard no_grad;
  const auto factors = run.model->spectral_factors(
      torch::arange(d.num_users, torch::device(device).dtype(torch::kLong)));
  if (factors) {
    spectral_analysis(*factors, popularity, top, device, out);
  } else {
    fmt::print("  model {} has no spectral factors: no spectral analysis\n", run.model->kind());
  }

  // Exposure and rank disparity of the item groups in the test recommendations.
  const auto result = test_evaluation(run, k, device);
  out.summary["test"] = {{"k", k},
                         {"ARP", result.metric(fmt::format("ARP@{}", k))},
                         {"HeadShare", result.metric(fmt::format("HeadShare@{}", k))},
                         {"Coverage", result.metric(fmt::format("Coverage@{}", k))},
                         {"Gini", result.metric(fmt::format("Gini@{}", k))},
                         {"NDCG", result.metric(fmt::format("NDCG@{}", k))}};
  if (!result.group_names.empty()) group_exposure_analysis(result, k, out);
  write_file_atomically(out.folder / "analysis.json", out.summary.dump(2) + "\n");
  fmt::print(
      "wrote {}/analysis.json{}\n", out.folder.string(),
      out.plots ? " and the charts spectrum.png, popularity_score.png, group_exposure.png" : "");
  return 0;
}

}  // namespace polyphony::cli
