// lesson.h: what every lesson's main() does first (seed, threads, device, output folder) and last
// (turn an exception into a readable message and a non-zero exit code).
#pragma once

#include <torch/torch.h>

#include <exception>
#include <filesystem>

#include "course/flags.h"

namespace course {

/// What begin_lesson() set up.
struct Lesson {
  torch::Device device{torch::kCPU};  ///< chosen from --device
  std::filesystem::path out_dir;      ///< --out, or <build>/out/<lesson>; created
};

/// Seeds, sets the thread count, chooses the device, creates the output folder and prints one
/// banner line: lesson, LibTorch version, device, threads, seed.
Lesson begin_lesson(const Flags& flags);

/// Prints "error: <what>" (without LibTorch's C++ backtrace) to stderr and returns 1.
/// Every main() ends with: catch (const std::exception& e) { return course::report_error(e); }
int report_error(const std::exception& error);

}  // namespace course
