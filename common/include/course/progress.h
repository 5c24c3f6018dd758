// progress.h: a one-line progress bar with rate and ETA on stderr; silent when stderr is not a
// terminal (ctest, pipes, CI), so logs stay readable.
#pragma once

#include <cstdint>
#include <string>

#include "course/timer.h"

namespace course {

class ProgressBar {
 public:
  /// `total` steps, shown after `label` (for example "epoch 3/10").
  ProgressBar(std::int64_t total, std::string label);
  ~ProgressBar();

  /// Moves to `done` steps; `status` is shown after the bar (for example "loss 0.412").
  void update(std::int64_t done, const std::string& status = "");
  /// Draws the final state and ends the line.
  void finish(const std::string& status = "");

  /// Whether the bar draws at all (stderr is a terminal and COURSE_NO_PROGRESS is unset).
  static bool enabled();

 private:
  std::int64_t total_;
  std::string label_;
  Stopwatch clock_;
  double last_draw_ = -1.0;
  bool finished_ = false;
};

}  // namespace course
