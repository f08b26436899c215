#pragma once
// RecBole's atomic files (recbole.io, "Atomic Files"): tab-separated tables whose header names
// each field with its type, `name:type`, the type one of token, token_seq, float, float_seq.
// A dataset NAME lives in a folder NAME holding NAME.inter (interactions) and optionally
// NAME.item and NAME.user (features); a benchmark split is NAME.train.inter, NAME.valid.inter
// and NAME.test.inter. Sequence values are separated by spaces.

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace polyphony {

class LineReader;

enum class AtomicType { token, token_seq, float_value, float_seq };

struct AtomicField {
  std::string name;
  AtomicType type = AtomicType::token;
};

// "token", "token_seq", "float" or "float_seq".
const char* atomic_type_name(AtomicType type);

// Whether a header line is an atomic file's: every `delimiter`-separated field `name:type` with
// one of the four types.
bool is_atomic_header(std::string_view line, char delimiter = '\t');

// The fields of the header line `reader` is on; a field without a known type, or a name given
// twice, is an error naming the file, the line and the field.
std::vector<AtomicField> parse_atomic_header(std::string_view line, char delimiter,
                                             const LineReader& reader);

// A sequence value (token_seq, float_seq) in the multi-value form the groups read, `a|b|c`:
// the space-separated elements, empty ones dropped as RecBole drops them.
std::string atomic_sequence_values(std::string_view text);

// The files of a RecBole dataset at `path`: a folder NAME (NAME.inter, else the benchmark files
// NAME.train.inter, NAME.test.inter and optional NAME.valid.inter), a NAME.inter file, or a
// NAME.train.inter file (the benchmark files beside it).
struct RecBoleFiles {
  std::vector<std::filesystem::path> interactions;  // NAME.inter, or train[, valid], test
  std::vector<uint8_t> parts;                       // benchmark files: 0 train, 1 valid, 2 test
  std::filesystem::path items, users;               // NAME.item / NAME.user; empty when absent
};
RecBoleFiles recbole_files(const std::filesystem::path& path);

}  // namespace polyphony
