#include "engine/data/line_reader.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>

#include "common/error.h"

namespace polyphony {
namespace {

std::string shorten(std::string_view text) {
  constexpr size_t kMax = 120;
  std::string out(text.substr(0, kMax));
  for (char& c : out)
    if (c == '\t') c = ' ';  // keep the message on one visible line
  if (text.size() > kMax) out += "...";
  return out;
}

// Days from 1970-01-01 to the civil date y-m-d (proleptic Gregorian), the well-known
// era-based formula: shift the year to start in March so leap days fall at its end.
int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t year_of_era = y - era * 400;
  const int64_t day_of_year = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + day_of_era - 719468;
}

bool fixed_digits(std::string_view text, size_t at, size_t count, int64_t& value) {
  if (at + count > text.size()) return false;
  value = 0;
  for (size_t k = at; k < at + count; ++k) {
    if (text[k] < '0' || text[k] > '9') return false;
    value = value * 10 + (text[k] - '0');
  }
  return true;
}

}  // namespace

LineReader::LineReader(std::filesystem::path path, size_t buffer_bytes, size_t max_line_bytes)
    : path_(std::move(path)),
      buffer_(std::max<size_t>(std::min(buffer_bytes, max_line_bytes), 64)),
      max_line_bytes_(std::max<size_t>(max_line_bytes, 64)) {
  std::error_code ec;
  if (std::filesystem::is_directory(path_, ec))
    fail("{}: is a directory, expected a file", path_.string());
  file_ = std::fopen(path_.c_str(), "rb");
  if (!file_) fail("{}: cannot open: {}", path_.string(), std::strerror(errno));
  // A small file needs no large buffer (it still grows if the file does).
  const auto size = std::filesystem::file_size(path_, ec);
  if (!ec && size + 1 < buffer_.size()) buffer_.resize(std::max<size_t>(size + 1, 64));
}

LineReader::~LineReader() {
  if (file_) std::fclose(file_);
}

bool LineReader::refill() {
  if (eof_) return false;
  // Move the unread tail to the front; grow when one line fills the whole buffer.
  const size_t unread = end_ - begin_;
  if (begin_ > 0) std::memmove(buffer_.data(), buffer_.data() + begin_, unread);
  begin_ = 0;
  end_ = unread;
  if (end_ == buffer_.size()) {
    // One line fills the buffer. Real interaction lines are short; /dev/zero or a binary file
    // would otherwise grow it until memory runs out.
    if (buffer_.size() >= max_line_bytes_)
      fail("{}:{}: a line longer than {} bytes: not a text file of interactions", path_.string(),
           line_number_ + 1, max_line_bytes_);
    buffer_.resize(std::min(buffer_.size() * 2, max_line_bytes_ + 1));
  }
  const size_t got = std::fread(buffer_.data() + end_, 1, buffer_.size() - end_, file_);
  if (got == 0) {
    if (std::ferror(file_)) fail("{}: read error: {}", path_.string(), std::strerror(errno));
    eof_ = true;
    return false;
  }
  end_ += got;
  return true;
}

bool LineReader::next(std::string_view& line) {
  for (;;) {
    const char* start = buffer_.data() + begin_;
    const char* newline = static_cast<const char*>(std::memchr(start, '\n', end_ - begin_));
    if (newline || (eof_ && begin_ < end_)) {
      const size_t length = newline ? static_cast<size_t>(newline - start) : end_ - begin_;
      const size_t consumed = newline ? length + 1 : length;
      line = std::string_view(start, length);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line_number_ == 0 && line.substr(0, 3) == "\xEF\xBB\xBF") line.remove_prefix(3);
      begin_ += consumed;
      bytes_read_ += static_cast<int64_t>(consumed);
      ++line_number_;
      if (line.find('\0') != std::string_view::npos)
        fail("{}:{}: binary data (a NUL byte) in a text file", path_.string(), line_number_);
      current_ = line;
      return true;
    }
    if (!refill()) {
      if (begin_ < end_) continue;  // last line without a line end
      current_ = {};
      return false;
    }
  }
}

void LineReader::fail_here(const std::string& message) const {
  fail("{}:{}: {}: '{}'", path_.string(), line_number_, message, shorten(current_));
}

void split_fields(std::string_view line, std::string_view delimiter,
                  std::vector<std::string_view>& fields) {
  fields.clear();
  if (delimiter.size() == 1) {
    const char d = delimiter[0];
    const char* p = line.data();
    const char* end = p + line.size();
    for (;;) {
      const char* hit = static_cast<const char*>(std::memchr(p, d, static_cast<size_t>(end - p)));
      if (!hit) {
        fields.emplace_back(p, static_cast<size_t>(end - p));
        return;
      }
      fields.emplace_back(p, static_cast<size_t>(hit - p));
      p = hit + 1;
    }
  }
  size_t from = 0;
  for (;;) {
    const size_t hit = line.find(delimiter, from);
    if (hit == std::string_view::npos) {
      fields.push_back(line.substr(from));
      return;
    }
    fields.push_back(line.substr(from, hit - from));
    from = hit + delimiter.size();
  }
}

bool split_quoted_fields(std::string_view line, char delimiter,
                         std::vector<std::string_view>& fields, std::vector<std::string>& storage) {
  fields.clear();
  storage.clear();
  // Views point into storage, so it must not reallocate: one slot per possible quoted field.
  if (line.find('"') != std::string_view::npos)
    storage.reserve(static_cast<size_t>(std::count(line.begin(), line.end(), '"')));
  size_t at = 0;
  for (;;) {
    if (at < line.size() && line[at] == '"') {
      std::string value;
      size_t k = at + 1;
      for (;; ++k) {
        if (k >= line.size()) return false;
        if (line[k] == '"') {
          if (k + 1 < line.size() && line[k + 1] == '"') {
            value += '"';
            ++k;
            continue;
          }
          break;
        }
        value += line[k];
      }
      storage.push_back(std::move(value));
      fields.emplace_back(storage.back());
      at = k + 1;
      if (at == line.size()) return true;
      if (line[at] != delimiter) return false;  // text after a closing quote
      ++at;
      continue;
    }
    const size_t hit = line.find(delimiter, at);
    if (hit == std::string_view::npos) {
      fields.push_back(line.substr(at));
      return true;
    }
    fields.push_back(line.substr(at, hit - at));
    at = hit + 1;
  }
}

namespace {

// YYYY-MM-DD at the start of `text`.
bool parse_date(std::string_view text, int64_t& year, int64_t& month, int64_t& day) {
  if (!fixed_digits(text, 0, 4, year) || text.size() < 10 || text[4] != '-' ||
      !fixed_digits(text, 5, 2, month) || text[7] != '-' || !fixed_digits(text, 8, 2, day))
    return false;
  return month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

// What may follow the date: nothing, or "THH:MM:SS" / " HH:MM:SS" with an optional "Z" (UTC).
bool parse_time_of_day(std::string_view rest, int64_t& hour, int64_t& minute, int64_t& second) {
  if (rest.empty()) return true;
  if ((rest[0] != 'T' && rest[0] != ' ') || rest.size() < 9 || !fixed_digits(rest, 1, 2, hour) ||
      rest[3] != ':' || !fixed_digits(rest, 4, 2, minute) || rest[6] != ':' ||
      !fixed_digits(rest, 7, 2, second))
    return false;
  if (hour > 23 || minute > 59 || second > 60) return false;
  rest.remove_prefix(9);
  return rest.empty() || rest == "Z";
}

}  // namespace

bool parse_timestamp(std::string_view text, int64_t& seconds) {
  if (parse_int64(text, seconds)) return true;
  double real = 0;
  if (parse_double(text, real)) {
    if (std::fabs(real) > 9e15) return false;
    seconds = static_cast<int64_t>(std::floor(real));
    return true;
  }
  int64_t y, mo, d, h = 0, mi = 0, s = 0;
  if (!parse_date(text, y, mo, d) || !parse_time_of_day(text.substr(10), h, mi, s)) return false;
  seconds = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
  return true;
}

}  // namespace polyphony
