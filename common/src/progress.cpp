// progress.cpp: the terminal progress bar.
#include "course/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace course {
namespace {

std::string format_duration(double seconds) {
  const auto total = static_cast<long>(seconds + 0.5);
  if (total >= 3600) return fmt::format("{}h{:02}m", total / 3600, (total % 3600) / 60);
  return fmt::format("{}:{:02}", total / 60, total % 60);
}

}  // namespace

bool ProgressBar::enabled() {
  static const bool on =
      isatty(fileno(stderr)) != 0 && std::getenv("COURSE_NO_PROGRESS") == nullptr;
  return on;
}

ProgressBar::ProgressBar(std::int64_t total, std::string label)
    : total_(std::max<std::int64_t>(total, 1)), label_(std::move(label)) {}

ProgressBar::~ProgressBar() {
  if (!finished_ && last_draw_ >= 0 && enabled()) std::fputs("\n", stderr);
}

void ProgressBar::update(std::int64_t done, const std::string& status) {
  if (!enabled()) return;
  const double now = clock_.seconds();
  if (done < total_ && now - last_draw_ < 0.1) return;  // at most ten redraws a second
  last_draw_ = now;
  constexpr int kWidth = 30;
  const double fraction = std::clamp(static_cast<double>(done) / total_, 0.0, 1.0);
  const int filled = static_cast<int>(fraction * kWidth);
  const double eta = done > 0 ? now / done * (total_ - done) : 0.0;
  fmt::print(stderr, "\r{} [{}{}] {}/{} {} ETA {} {}\x1b[K", label_, std::string(filled, '#'),
             std::string(kWidth - filled, '.'), done, total_, format_duration(now),
             format_duration(eta), status);
  std::fflush(stderr);
}

void ProgressBar::finish(const std::string& status) {
  if (finished_) return;
  update(total_, status);
  finished_ = true;
  if (enabled()) std::fputs("\n", stderr);
}

}  // namespace course
