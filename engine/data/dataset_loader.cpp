#include "engine/data/dataset_loader.h"

#include <cstdlib>

#include <fmt/format.h>

#include "common/error.h"
#include "engine/data/dataset_cache.h"
#include "engine/data/synthetic.h"

namespace polyphony {
std::string DataOptions::fingerprint_text() const {
  return fmt::format(
      "min_weight={} columns={},{},{},{} delimiter={} min_user={} min_item={} iterate={}",
      read.min_weight ? fmt::format("{}", *read.min_weight) : "none", read.columns.user,
      read.columns.item, read.columns.weight, read.columns.timestamp,
      static_cast<int>(read.delimiter), filters.min_user_interactions,
      filters.min_item_interactions, filters.iterate);
}

std::filesystem::path default_cache_dir() {
  if (const char* dir = std::getenv("POLYPHONY_CACHE_DIR"); dir && *dir) return dir;
  if (const char* dir = std::getenv("XDG_CACHE_HOME"); dir && *dir)
    return std::filesystem::path(dir) / "polyphony";
  if (const char* home = std::getenv("HOME"); home && *home)
    return std::filesystem::path(home) / ".cache" / "polyphony";
  return {};
}

LoadedDataset load_dataset(const DataOptions& options) {
  const auto& [kind, argument, synthetic] = options.source;
  const std::string name = options.source.spec();
  LoadedDataset out;
  if (kind == "synthetic") {
    if (options.read.min_weight)
      fail("`dataset` {}: synthetic data has no ratings or play counts to threshold", name);
    out.dataset = generate_synthetic(synthetic, name);
    out.report.records = out.dataset.interactions.size();
    out.report.users_read = out.dataset.num_users;
    out.report.items_read = out.dataset.num_items;
    filter_by_counts(out.dataset, options.filters, out.report);
    out.cache = "not used for generated data";
    return out;
  }
  const auto files = interaction_files(kind, argument);  // also rejects unknown kinds
  auto parse = [&] {
    auto log = read_interactions(kind, argument, options.read);
    out.report = {};
    out.dataset = dataset_from_log(std::move(log), name, out.report);
    filter_by_counts(out.dataset, options.filters, out.report);
  };
  if (options.cache_dir.empty()) {
    parse();
    out.cache = "off";
    return out;
  }
  const auto key = dataset_cache_key(files, kind + "\n" + options.fingerprint_text());
  const auto path = dataset_cache_path(options.cache_dir, kind, key);
  std::error_code ec;
  std::string why;
  if (std::filesystem::exists(path, ec)) {
    try {
      out.dataset = load_dataset_cache(path, key, out.report);
      out.dataset.source = name;
      out.cache = fmt::format("hit {}", path.string());
      return out;
    } catch (const Error& e) {
      why = e.what();
    }
  }
  parse();
  try {
    save_dataset_cache(path, key, out.dataset, out.report);
  } catch (const Error& e) {
    out.cache = fmt::format("not written ({})", e.what());  // the parsed data is still good
    return out;
  }
  out.cache = why.empty() ? fmt::format("wrote {}", path.string())
                          : fmt::format("rebuilt {} ({})", path.string(), why);
  return out;
}

}  // namespace polyphony
