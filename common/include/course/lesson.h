// lesson.h: what every lesson's main() does first (seed, threads, device, output folder) and last
// (the RESULT line, and an exception turned into a readable message and a non-zero exit code).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <exception>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

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

/// Number of trainable numbers in a module (every parameter's numel, summed), for the "model:"
/// line lessons print. Python: sum(p.numel() for p in model.parameters())
int64_t parameter_count(const torch::nn::Module& module);

/// "2.11.0": the LibTorch version the program was compiled with.
std::string torch_version();

/// Prints the one line `./course bench` reads, "RESULT lesson=08_cnn epochs=10 test_acc=0.9255
/// ...", every number with 6 significant digits. Python: course_common.result_line.
void print_result(const std::string& lesson,
                  const std::vector<std::pair<std::string, double>>& values);

/// Prints "error: <what>" (without LibTorch's C++ backtrace) to stderr and returns 1.
/// Every main() ends with: catch (const std::exception& e) { return course::report_error(e); }
int report_error(const std::exception& error);

}  // namespace course
