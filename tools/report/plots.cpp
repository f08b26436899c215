#include "tools/report/plots.h"

#include <cstdio>
#include <fstream>

#include <fmt/format.h>

#include "common/error.h"

namespace polyphony::cli {
namespace fs = std::filesystem;

void write_table(const fs::path& data, const Table& table) {
  std::ofstream out(data, std::ios::trunc);
  for (size_t c = 0; c < table.columns.size(); ++c) out << (c ? "\t" : "") << table.columns[c];
  out << "\n";
  for (const auto& row : table.rows) {
    for (size_t c = 0; c < row.size(); ++c) out << (c ? "\t" : "") << fmt::format("{:.9g}", row[c]);
    out << "\n";
  }
  if (!out.flush()) fail("cannot write {}", data.string());
}

void draw_with_gnuplot(const std::string& script, const fs::path& png,
                       const std::string& skip_hint) {
  if (std::system("command -v gnuplot > /dev/null 2>&1") != 0)
    fail(
        "gnuplot is not installed, so {} cannot be drawn: install it (Debian: apt-get install "
        "gnuplot-nox) or {}",
        png.string(), skip_hint);
  const fs::path script_file = png.string() + ".gp";
  {
    std::ofstream out(script_file, std::ios::trunc);
    out << "set terminal pngcairo size 900,600 font 'sans,11'\n"
        << "set output '" << png.string() << "'\n"
        << script;
    if (!out.flush()) fail("cannot write {}", script_file.string());
  }
  const std::string command = fmt::format("gnuplot '{}' 2>&1", script_file.string());
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) fail("cannot run gnuplot");
  std::string output;
  char buffer[512];
  while (std::fgets(buffer, sizeof buffer, pipe)) output += buffer;
  if (::pclose(pipe) != 0 || !fs::exists(png))
    fail("gnuplot failed on {}: {}", script_file.string(), output);
}

}  // namespace polyphony::cli
