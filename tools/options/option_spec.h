#pragma once
// Option values written KIND[:ARGUMENT] or as short lists (--dataset synthetic:music-demo,
// --item-groups popularity:0.2, --user-groups activity:4, --split ratio:0.8,0.1, --sampler
// popularity:0.75, --lr-schedule step:10:0.5, --eval-protocol sampled:99, --kcore 10,10,
// --k-filter 16,12): one parser with one error form, "--OPTION 'TEXT': expected FORMS", and the
// typed engine options they stand for. The engine takes only the typed options.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/data/dataset_loader.h"
#include "engine/data/groups.h"
#include "engine/data/negative_sampler.h"
#include "engine/data/preprocess.h"
#include "engine/data/split.h"
#include "engine/eval/evaluator.h"
#include "engine/train/optimization.h"
#include "engine/train/step_graph.h"
#include "kernels/ranking_losses.h"

namespace polyphony::cli {

class OptionSpec {
 public:
  // `option` as written (--split), `text` its value, `expected` the accepted forms for errors.
  OptionSpec(std::string option, std::string text, std::string expected);

  const std::string& text() const { return text_; }
  // Before the first ':' (the whole text without one), and after it ("" without one).
  const std::string& kind() const { return kind_; }
  const std::string& argument() const { return argument_; }
  bool has_argument() const { return has_argument_; }

  // `text` cut at every `separator`, with `min_count` to `max_count` fields, none empty.
  std::vector<std::string> fields(const std::string& text, char separator, size_t min_count,
                                  size_t max_count) const;
  // A field as a number or an integer, within [low, high] (or (low, …) with `open_low`).
  double real(const std::string& field, double low, double high, bool open_low = false) const;
  int64_t integer(const std::string& field, int64_t low, int64_t high) const;

  // "--OPTION 'TEXT': expected FORMS", or "--OPTION 'TEXT': WHY".
  [[noreturn]] void reject() const;
  [[noreturn]] void reject(const std::string& why) const;

 private:
  std::string option_, text_, expected_, kind_, argument_;
  bool has_argument_ = false;
};

// --dataset KIND:ARGUMENT; for synthetic data see parse_synthetic.
DatasetSource parse_dataset(const std::string& text);
// The argument of --dataset synthetic:ARGUMENT: a preset name (see synthetic_presets), KEY=VALUE
// pairs on top of music-demo, or a preset followed by pairs ("lfm-2b-scale,seed=3"). Keys:
// users, items, interactions (total; sets the mean per user), min_items, zipf, communities,
// affinity, majority_share, majority_boost, unknown_share, seed.
SyntheticOptions parse_synthetic(const std::string& argument);
// --columns user=NAME,item=NAME[,weight=NAME][,timestamp=NAME] (time= for timestamp=)
CsvColumns parse_columns(const std::string& text);
// --delimiter C | tab
char parse_delimiter(const std::string& text);
// --item-groups auto | none | builtin | popularity:SHARE | attribute:COLUMN=V1,V2[/W1,W2]
ItemGroupOptions parse_item_groups(const std::string& text);
// --user-groups none | attribute:COLUMN[@C1,C2,...] | activity:Q | diversity:Q
UserGroupOptions parse_user_groups(const std::string& text);
// --split ratio:TRAIN[,VALID] | loo:last | loo:random | temporal:TRAIN[,VALID] | files
SplitOptions parse_split(const std::string& text);
// --sampler uniform | popularity (α = 0.75, as the ProtoMF code) | popularity:α
SamplerOptions parse_sampler(const std::string& text);
// --loss-reduction mean|sum.
LossReduction parse_loss_reduction(const std::string& text);
// --cuda-graph auto|on|off.
CudaGraphMode parse_cuda_graph(const std::string& text);
// --embedding-updates auto|dense|sparse.
EmbeddingUpdates parse_embedding_updates(const std::string& text);
// Its name as the option takes it.
std::string embedding_updates_name(EmbeddingUpdates updates);
// --lr-schedule constant | cosine | step:EPOCHS:GAMMA (warm-up comes from --warmup-steps)
LearningRateSchedule parse_schedule(const std::string& text);
// --eval-protocol full | sampled:N: N, or nothing for full.
std::optional<int64_t> sampled_negatives(const std::string& protocol);
// --head interactions:SHARE | items:FRACTION (both in (0, 1]): the head items of HeadShare and
// APLT.
std::pair<HeadRule, double> parse_head(const std::string& text);
// --kcore U[,I]
CountFilterOptions parse_kcore(const std::string& text);
// --k-filter KU[,KT]: the user-side and item-side k (-1: off).
std::pair<int64_t, int64_t> parse_k_filter(const std::string& text);

}  // namespace polyphony::cli
