#include "engine/data/recbole_atomic.h"

#include <algorithm>
#include <array>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/error.h"
#include "engine/data/line_reader.h"

namespace polyphony {
namespace {

namespace fs = std::filesystem;

constexpr std::array<AtomicType, 4> kTypes = {AtomicType::token, AtomicType::token_seq,
                                              AtomicType::float_value, AtomicType::float_seq};

// `name:type` → the name and the type's text; false without exactly one colon.
bool cut_field(std::string_view field, std::string_view& name, std::string_view& type) {
  const size_t colon = field.find(':');
  if (colon == std::string_view::npos || field.find(':', colon + 1) != std::string_view::npos)
    return false;
  name = field.substr(0, colon);
  type = field.substr(colon + 1);
  return true;
}

bool type_of(std::string_view text, AtomicType& type) {
  for (const auto t : kTypes)
    if (text == atomic_type_name(t)) {
      type = t;
      return true;
    }
  return false;
}

bool ends_with(const std::string& text, std::string_view suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The .inter files of `folder`, for a message when the expected one is not there.
std::string inter_files_in(const fs::path& folder) {
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(folder.empty() ? fs::path(".") : folder, ec), end;
       !ec && it != end; it.increment(ec))
    if (ends_with(it->path().filename().string(), ".inter"))
      names.push_back(it->path().filename().string());
  std::sort(names.begin(), names.end());
  return names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", "));
}

}  // namespace

const char* atomic_type_name(AtomicType type) {
  switch (type) {
    case AtomicType::token:
      return "token";
    case AtomicType::token_seq:
      return "token_seq";
    case AtomicType::float_value:
      return "float";
    case AtomicType::float_seq:
      return "float_seq";
  }
  return "";
}

bool is_atomic_header(std::string_view line, char delimiter) {
  std::vector<std::string_view> fields;
  split_fields(line, std::string_view(&delimiter, 1), fields);
  return std::all_of(fields.begin(), fields.end(), [](std::string_view field) {
    std::string_view name, type;
    AtomicType unused;
    return cut_field(field, name, type) && !name.empty() && type_of(type, unused);
  });
}

std::vector<AtomicField> parse_atomic_header(std::string_view line, char delimiter,
                                             const LineReader& reader) {
  std::vector<std::string_view> texts;
  split_fields(line, std::string_view(&delimiter, 1), texts);
  std::vector<AtomicField> fields;
  std::set<std::string_view> names;
  for (const auto text : texts) {
    std::string_view name, type_text;
    AtomicField field;
    if (!cut_field(text, name, type_text) || name.empty())
      reader.fail_here(fmt::format(
          "header field '{}' is not NAME:TYPE (a RecBole atomic file's header types each field: "
          "token, token_seq, float or float_seq)",
          text));
    if (!type_of(type_text, field.type))
      reader.fail_here(fmt::format(
          "field '{}' has the type '{}'; RecBole's types are token, token_seq, float and "
          "float_seq",
          name, type_text));
    if (!names.insert(name).second)
      reader.fail_here(fmt::format("field '{}' appears twice in the header", name));
    field.name = std::string(name);
    fields.push_back(std::move(field));
  }
  return fields;
}

std::string atomic_sequence_values(std::string_view text) {
  std::string values;
  for (size_t at = 0; at < text.size();) {
    const size_t stop = std::min(text.find(' ', at), text.size());
    if (stop > at)
      values += fmt::format("{}{}", values.empty() ? "" : "|", text.substr(at, stop - at));
    at = stop + 1;
  }
  return values;
}

RecBoleFiles recbole_files(const fs::path& given) {
  // "data/ml-1m/" names the folder ml-1m.
  const fs::path path = given.has_filename() ? given : given.parent_path();
  std::error_code ec;
  fs::path folder;
  std::string name;
  bool benchmark_named = false;
  if (fs::is_directory(path, ec)) {
    folder = path;
    name = path.filename().string();
  } else if (fs::exists(path, ec)) {
    name = path.filename().string();
    if (!ends_with(name, ".inter"))
      fail(
          "{}: the recbole format reads a folder NAME holding NAME.inter (or the benchmark files "
          "NAME.train.inter, NAME.test.inter), or a .inter file",
          path.string());
    folder = path.parent_path();
    name.resize(name.size() - 6);
    benchmark_named = ends_with(name, ".train");
    if (benchmark_named) name.resize(name.size() - 6);
  } else {
    fail("{}: no such file or folder", path.string());
  }
  const auto file = [&](const char* suffix) { return folder / (name + suffix); };
  RecBoleFiles files;
  if (!benchmark_named && fs::exists(file(".inter"), ec)) {
    files.interactions = {file(".inter")};
  } else if (fs::exists(file(".train.inter"), ec)) {
    files.interactions = {file(".train.inter")};
    files.parts = {0};
    if (fs::exists(file(".valid.inter"), ec)) {
      files.interactions.push_back(file(".valid.inter"));
      files.parts.push_back(1);
    }
    if (!fs::exists(file(".test.inter"), ec))
      fail("{}: no {}.test.inter beside {}.train.inter (a benchmark split needs both)",
           folder.string(), name, name);
    files.interactions.push_back(file(".test.inter"));
    files.parts.push_back(2);
  } else {
    fail(
        "{}: no {}.inter and no {}.train.inter in this folder (RecBole names the files after "
        "the folder; .inter files here: {}; or give the .inter file itself)",
        folder.string(), name, name, inter_files_in(folder));
  }
  if (fs::exists(file(".item"), ec)) files.items = file(".item");
  if (fs::exists(file(".user"), ec)) files.users = file(".user");
  return files;
}

}  // namespace polyphony
