#include "tools/run/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include <fmt/format.h>

namespace polyphony::cli {
namespace {

std::string clock_time(double seconds) {
  const auto s = static_cast<int64_t>(seconds);
  return s >= 3600 ? fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
                   : fmt::format("{}:{:02}", s / 60, s % 60);
}

}  // namespace

ProgressDisplay::ProgressDisplay(int64_t interactions_per_step, double line_interval_seconds,
                                 bool enabled)
    : interactions_per_step_(interactions_per_step),
      line_interval_(line_interval_seconds),
      enabled_(enabled),
      terminal_(::isatty(STDOUT_FILENO) == 1) {}

std::string ProgressDisplay::describe(const StepProgress& p, double rate) const {
  const double remaining_steps = static_cast<double>((p.epochs - p.epoch) * p.steps_per_epoch +
                                                     p.steps_per_epoch - p.step_in_epoch);
  const double steps_per_second = rate / static_cast<double>(interactions_per_step_);
  const std::string eta =
      steps_per_second > 0 ? clock_time(remaining_steps / steps_per_second) : "?";
  return fmt::format("epoch {}/{} step {}/{}  {:.0f} interactions/s  ETA {}", p.epoch, p.epochs,
                     p.step_in_epoch, p.steps_per_epoch, rate, eta);
}

void ProgressDisplay::update(const StepProgress& p) {
  if (!enabled_) return;
  const auto now = Clock::now();
  if (first_step_ < 0 || p.epoch != epoch_) {  // the rate of this epoch, validation excluded
    epoch_ = p.epoch;
    first_step_ = p.global_step - 1;
    start_ = now;
    last_draw_ = now;
    return;
  }
  const double since_draw = std::chrono::duration<double>(now - last_draw_).count();
  if (since_draw < (terminal_ ? 0.1 : line_interval_)) return;
  last_draw_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double rate = static_cast<double>((p.global_step - first_step_) * interactions_per_step_) /
                      std::max(elapsed, 1e-9);
  if (!terminal_) {
    fmt::print("  {}\n", describe(p, rate));
    std::fflush(stdout);
    return;
  }
  constexpr int kWidth = 24;
  const int filled =
      static_cast<int>(kWidth * p.step_in_epoch / std::max<int64_t>(p.steps_per_epoch, 1));
  std::string bar;
  for (int i = 0; i < kWidth; ++i) bar += i < filled ? "█" : "░";
  fmt::print("\r\033[K{} {}", bar, describe(p, rate));
  std::fflush(stdout);
  drawn_ = true;
}

void ProgressDisplay::clear() {
  if (!drawn_) return;
  fmt::print("\r\033[K");
  std::fflush(stdout);
  drawn_ = false;
}

}  // namespace polyphony::cli
