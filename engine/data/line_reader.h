#pragma once
// Streams a text file line by line through a fixed buffer, so files larger than memory are never
// read whole. Handles LF and CRLF line ends and a UTF-8 byte-order mark; every error it raises
// names the file, the line number and the offending text.

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "common/number_text.h"

namespace polyphony {

class LineReader {
 public:
  // Opens `path`; a missing or unreadable file is an error naming it. A line longer than
  // `max_line_bytes` is an error naming the file and line (the buffer grows up to it).
  explicit LineReader(std::filesystem::path path, size_t buffer_bytes = 1 << 22,
                      size_t max_line_bytes = 64 << 20);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // The next line without its line end; false at the end of the file.
  bool next(std::string_view& line);

  const std::filesystem::path& path() const { return path_; }
  int64_t line_number() const { return line_number_; }
  // Bytes of the file consumed so far.
  int64_t bytes_read() const { return bytes_read_; }

  // Raises "PATH:LINE: MESSAGE: 'current line'" (the line shortened when long).
  [[noreturn]] void fail_here(const std::string& message) const;

 private:
  bool refill();

  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
  std::vector<char> buffer_;
  size_t max_line_bytes_;
  size_t begin_ = 0, end_ = 0;  // unread bytes are buffer_[begin_, end_)
  bool eof_ = false;
  int64_t line_number_ = 0;
  int64_t bytes_read_ = 0;
  std::string_view current_;
};

// Splits `line` at each occurrence of `delimiter` (one or more characters) into `fields`.
void split_fields(std::string_view line, std::string_view delimiter,
                  std::vector<std::string_view>& fields);

// Splits one CSV record at `delimiter`, honouring double-quoted fields ("a, b" and "" for a
// quote inside). Unquoted text is returned in place; a quoted field is unescaped into `storage`.
// False when a quote is not closed on the line.
bool split_quoted_fields(std::string_view line, char delimiter,
                         std::vector<std::string_view>& fields, std::vector<std::string>& storage);

// A timestamp as seconds since 1970-01-01 UTC: an integer, a decimal (floored), or ISO 8601
// "YYYY-MM-DD", "YYYY-MM-DDTHH:MM:SS" with an optional "Z" (space instead of T allowed).
bool parse_timestamp(std::string_view text, int64_t& seconds);

}  // namespace polyphony
