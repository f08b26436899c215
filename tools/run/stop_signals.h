#pragma once
// SIGINT and SIGTERM (what Ctrl-C, batch schedulers and preemptible nodes send) ask training to
// stop after the current step with a checkpoint. A second SIGINT kills the process at once.

namespace polyphony::cli {

// The exit status after such a stop: EX_TEMPFAIL from <sysexits.h>, "try again later", which
// schedulers can tell apart from success (0) and from errors (2).
inline constexpr int kInterruptedExitStatus = 75;

class StopSignals {
 public:
  // Installs the handlers; the destructor restores the previous ones.
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  // The signal received so far (0: none).
  static int received();
  // "SIGINT", "SIGTERM".
  static const char* name(int signal);
};

}  // namespace polyphony::cli
