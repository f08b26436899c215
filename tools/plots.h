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

// Runs gnuplot on `script`, which draws into `png`. An error explains how to install gnuplot
// when it is missing, and shows gnuplot's message when it fails.
void draw_with_gnuplot(const std::string& script, const std::filesystem::path& png);

}  // namespace polyphony::cli
