#include "engine/data/attributes.h"

#include <algorithm>
#include <string_view>
#include <unordered_map>

#include <fmt/format.h>

#include "common/error.h"
#include "engine/data/line_reader.h"
#include "engine/data/recbole_atomic.h"

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
  // A RecBole .item / .user file: tab-separated, each header field NAME:TYPE.
  const auto extension = path.extension();
  const bool atomic = is_atomic_header(line) || extension == ".item" || extension == ".user";
  char delimiter = atomic ? '\t' : 0;
  for (char c : {'\t', ',', ';', '|'})
    if (!delimiter && line.find(c) != std::string_view::npos) delimiter = c;
  if (!delimiter)
    reader.fail_here("expected a header with at least two columns (tab, , ; or | separated)");
  std::vector<std::string_view> fields;
  std::vector<std::string> storage, names;
  std::vector<bool> sequence;
  if (atomic) {
    for (const auto& f : parse_atomic_header(line, delimiter, reader)) {
      names.push_back(f.name);
      sequence.push_back(f.type == AtomicType::token_seq || f.type == AtomicType::float_seq);
    }
  } else {
    if (!split_quoted_fields(line, delimiter, fields, storage))
      reader.fail_here("unterminated double quote");
    names.assign(fields.begin(), fields.end());
    sequence.assign(names.size(), false);
  }
  const auto it = std::find(names.begin(), names.end(), column);
  if (it == names.end() || it == names.begin()) {
    std::string listed;
    for (size_t k = 1; k < names.size(); ++k)
      listed += fmt::format("{}{}", k > 1 ? ", " : "", names[k]);
    fail("{}:1: no attribute column '{}' (the first column is the id; attributes: {})",
         path.string(), column, listed);
  }
  const size_t wanted = static_cast<size_t>(it - names.begin());
  const size_t width = names.size();

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
    if (seen[hit->second]) {
      // RecBole keeps an id's first row of a feature file; elsewhere a repeat is a mistake.
      if (atomic) continue;
      reader.fail_here(fmt::format("id '{}' appears twice", fields[0]));
    }
    seen[hit->second] = true;
    // A sequence's elements are the values of a multi-valued attribute, as `US|JP`.
    values[hit->second] =
        sequence[wanted] ? atomic_sequence_values(fields[wanted]) : std::string(fields[wanted]);
  }
  return values;
}

}  // namespace polyphony
