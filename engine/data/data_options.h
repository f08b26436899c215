#pragma once
// The data layer's options (common/option.h): what is read, how it is filtered and split, the
// groups, the cache, and the negative sampler; and the parsers of their values, written
// KIND[:ARGUMENT] (common/option_text.h).

#include <string>
#include <vector>

#include "common/option.h"
#include "engine/data/dataset_loader.h"
#include "engine/data/groups.h"
#include "engine/data/negative_sampler.h"
#include "engine/data/prepared_data.h"
#include "engine/data/preprocess.h"
#include "engine/data/split.h"

namespace polyphony {

// dataset KIND:ARGUMENT; for synthetic data see parse_synthetic.
DatasetSource parse_dataset(const std::string& text);
// The argument of synthetic:ARGUMENT: a preset name (see synthetic_presets), KEY=VALUE pairs on
// top of music-demo, or a preset followed by pairs ("lfm-2b-scale,seed=3"). Keys: users, items,
// interactions (total; sets the mean per user), min_items, zipf, communities, affinity,
// majority_share, majority_boost, unknown_share, seed.
SyntheticOptions parse_synthetic(const std::string& argument);
// columns user=NAME,item=NAME[,weight=NAME][,timestamp=NAME] (time= for timestamp=)
CsvColumns parse_columns(const std::string& text);
// delimiter C | tab
char parse_delimiter(const std::string& text);
// item_groups auto | none | builtin | popularity:SHARE | attribute:COLUMN=V1,V2[/W1,W2]
ItemGroupOptions parse_item_groups(const std::string& text);
// user_groups none | attribute:COLUMN[@C1,C2,...] | activity:Q | diversity:Q
UserGroupOptions parse_user_groups(const std::string& text);
// split ratio:TRAIN[,VALID] | loo:last | loo:random | temporal:TRAIN[,VALID] | files[:VALID]
SplitOptions parse_split(const std::string& text);
// sampler uniform | popularity (α = 0.75, as the ProtoMF code) | popularity:α
SamplerOptions parse_sampler(const std::string& text);
// kcore U[,I]
CountFilterOptions parse_kcore(const std::string& text);

// The options of DataSetup, in the order of the help. The split's seed is the run's (--seed).
const std::vector<Option<DataSetup>>& data_option_list();
// The sampler's option (sampler).
const std::vector<Option<SamplerOptions>>& sampler_option_list();

}  // namespace polyphony
