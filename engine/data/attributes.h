#pragma once
// Item and user attributes (artist country, user country, gender, age, ...) from a CSV/TSV file
// with a header whose first column is the external id.

#include <filesystem>
#include <string>
#include <vector>

namespace polyphony {

// The value of `column` for each of `ids` (dense-index order), "" where the file has no row or
// an empty value. The delimiter is the first of tab , ; | in the header. Streams the file;
// errors name the file and line (a duplicate id, a short row) or list the header's columns.
std::vector<std::string> read_attribute_column(const std::filesystem::path& path,
                                               const std::string& column,
                                               const std::vector<std::string>& ids);

}  // namespace polyphony
