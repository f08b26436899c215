#include "engine/data/attributes.h"

#include <algorithm>
#include <string_view>
#include <unordered_map>

#include <fmt/format.h>

#include "common/error.h"
#include "engine/data/line_reader.h"
#include "engine/data/recbole_atomic.h"

namespace polyphony {

namespace {

// An attribute file's header: its delimiter, its column names, which columns are sequences.
struct AttributeHeader {
  bool atomic = false;  // a RecBole .item / .user file: tab-separated, each field NAME:TYPE
  char delimiter = 0;
  std::vector<std::string> names;
  std::vector<bool> sequence;
};

AttributeHeader read_header(const std::filesystem::path& path, std::string_view line,
                            LineReader& reader) {
  AttributeHeader h;
  const auto extension = path.extension();
  h.atomic = is_atomic_header(line) || extension == ".item" || extension == ".user";
  h.delimiter = h.atomic ? '\t' : 0;
  for (char c : {'\t', ',', ';', '|'})
    if (!h.delimiter && line.find(c) != std::string_view::npos) h.delimiter = c;
  if (!h.delimiter)
    reader.fail_here("expected a header with at least two columns (tab, , ; or | separated)");
  if (h.atomic) {
    for (const auto& f : parse_atomic_header(line, h.delimiter, reader)) {
      h.names.push_back(f.name);
      h.sequence.push_back(f.type == AtomicType::token_seq || f.type == AtomicType::float_seq);
    }
    return h;
  }
  std::vector<std::string_view> fields;
  std::vector<std::string> storage;
  if (!split_quoted_fields(line, h.delimiter, fields, storage))
    reader.fail_here("unterminated double quote");
  h.names.assign(fields.begin(), fields.end());
  h.sequence.assign(h.names.size(), false);
  return h;
}

// The index of `column` among the header's names; the first column is the id.
size_t attribute_index(const AttributeHeader& h, const std::string& column,
                       const std::filesystem::path& path) {
  const auto it = std::find(h.names.begin(), h.names.end(), column);
  if (it != h.names.end() && it != h.names.begin())
    return static_cast<size_t>(it - h.names.begin());
  std::string listed;
  for (size_t k = 1; k < h.names.size(); ++k)
    listed += fmt::format("{}{}", k > 1 ? ", " : "", h.names[k]);
  fail("{}:1: no attribute column '{}' (the first column is the id; attributes: {})", path.string(),
       column, listed);
}

}  // namespace

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
  const AttributeHeader header = read_header(path, line, reader);
  const size_t wanted = attribute_index(header, column, path);
  const size_t width = header.names.size();
  const bool atomic = header.atomic;
  const char delimiter = header.delimiter;
  const auto& sequence = header.sequence;
  std::vector<std::string_view> fields;
  std::vector<std::string> storage;

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
