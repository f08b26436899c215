#include "engine/data/attributes.h"

#include <algorithm>
#include <string_view>
#include <unordered_map>

#include <fmt/format.h>

#include "common/error.h"
#include "engine/data/line_reader.h"

namespace polyphony {

std::vector<std::string> read_attribute_column(const std::filesystem::path& path,
                                               const std::string& column,
                                               const std::vector<std::string>& ids) {
  std::unordered_map<std::string_view, size_t> index_of;
  index_of.reserve(ids.size());
  for (size_t k = 0; k < ids.size(); ++k) index_of.emplace(ids[k], k);

  LineReader reader(path);
  std::string_view line;
  if (!reader.next(line))
    fail("{}: empty file (expected a header naming the columns)", path.string());
  char delimiter = 0;
  for (char c : {'\t', ',', ';', '|'})
    if (line.find(c) != std::string_view::npos) {
      delimiter = c;
      break;
    }
  if (!delimiter)
    reader.fail_here("expected a header with at least two columns (tab, , ; or | separated)");
  std::vector<std::string_view> fields;
  std::vector<std::string> storage;
  if (!split_quoted_fields(line, delimiter, fields, storage))
    reader.fail_here("unterminated double quote");
  const auto it = std::find(fields.begin(), fields.end(), column);
  if (it == fields.end() || it == fields.begin()) {
    std::string names;
    for (size_t k = 1; k < fields.size(); ++k)
      names += fmt::format("{}{}", k > 1 ? ", " : "", fields[k]);
    fail("{}:1: no attribute column '{}' (the first column is the id; attributes: {})",
         path.string(), column, names);
  }
  const size_t wanted = static_cast<size_t>(it - fields.begin());
  const size_t width = fields.size();

  std::vector<std::string> values(ids.size());
  std::vector<bool> seen(ids.size(), false);
  while (reader.next(line)) {
    if (line.empty()) continue;
    if (!split_quoted_fields(line, delimiter, fields, storage))
      reader.fail_here("unterminated or misplaced double quote");
    if (fields.size() != width)
      reader.fail_here(
          fmt::format("expected {} fields like the header, found {}", width, fields.size()));
    const auto hit = index_of.find(fields[0]);
    if (hit == index_of.end()) continue;  // an id the dataset does not use
    if (seen[hit->second]) reader.fail_here(fmt::format("id '{}' appears twice", fields[0]));
    seen[hit->second] = true;
    values[hit->second] = std::string(fields[wanted]);
  }
  return values;
}

}  // namespace polyphony
