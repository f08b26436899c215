#pragma once
// Starting polyphony's own subcommands as child processes (sweep points, tune trials and
// workers), each writing to a log, and reading what went wrong from that log.

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace polyphony::cli {

// The running polyphony binary, to start its own subcommands with: its path, or /proc/self/exe
// when that file has been replaced or removed since it started (a rebuild during a long sweep),
// which still starts the binary this process runs.
std::string self_executable();

// Starts `arguments` (arguments[0] a path) with stdin from /dev/null and stdout and stderr
// appended to `log`. An Error when it cannot start.
pid_t spawn_logged(const std::vector<std::string>& arguments, const std::filesystem::path& log);

// The last line of `log` that carries a polyphony error, or else its last line.
std::string error_line(const std::filesystem::path& log);

// "42s", "3m05s", "2h10m".
std::string duration_text(double seconds);

// The time now as 2026-12-07T09:30:00Z.
std::string utc_now_text();

}  // namespace polyphony::cli
