#pragma once
// PNG charts drawn by gnuplot (a Debian package, run as a separate program): the data goes to a
// tab-separated file next to the chart, so a user can redraw it with any other tool.

#include <filesystem>
#include <string>
#include <vector>

namespace polyphony::cli {

// One column of numbers per series, rows aligned.
struct Table {
  std::vector<std::string> columns;
  std::vector<std::vector<double>> rows;
};

// Writes `table` to `data` (TSV with a header line).
void write_table(const std::filesystem::path& data, const Table& table);

// Runs gnuplot on `script`, which draws into `png`. When gnuplot is missing, the error explains
// how to install it or, in `skip_hint` ("pass --no-plots"), how to do without the chart; when
// gnuplot fails, it shows gnuplot's message.
void draw_with_gnuplot(const std::string& script, const std::filesystem::path& png,
                       const std::string& skip_hint);

}  // namespace polyphony::cli
