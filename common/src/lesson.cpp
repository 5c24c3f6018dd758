// lesson.cpp: the start and the error exit every lesson shares.
#include "course/lesson.h"

#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <torch/version.h>

#include <cstdio>
#include <iostream>

#include "course/build_info.h"
#include "course/device.h"
#include "course/seed.h"

namespace course {

Lesson begin_lesson(const Flags& flags) {
  const Options& options = flags.options();
  if (options.threads > 0) at::set_num_threads(options.threads);
  seed_everything(options.seed);

  Lesson lesson;
  lesson.device = choose_device(options.device);
  lesson.out_dir = options.out.empty()
                       ? std::filesystem::path(build_info::kBinaryDir) / "out" / flags.lesson()
                       : std::filesystem::path(options.out);
  std::error_code error;
  std::filesystem::create_directories(lesson.out_dir, error);
  if (error) {
    throw std::runtime_error(fmt::format("cannot create the output folder {}: {}",
                                         lesson.out_dir.string(), error.message()));
  }
  fmt::print("== {} | LibTorch {} | device {} | threads {} | seed {}\n", flags.lesson(),
             torch_version(), describe_device(lesson.device), at::get_num_threads(), options.seed);
  return lesson;
}

int64_t parameter_count(const torch::nn::Module& module) {
  int64_t count = 0;
  for (const auto& parameter : module.parameters()) count += parameter.numel();
  return count;
}

std::string torch_version() {
  return fmt::format("{}.{}.{}", TORCH_VERSION_MAJOR, TORCH_VERSION_MINOR, TORCH_VERSION_PATCH);
}

void print_result(const std::string& lesson,
                  const std::vector<std::pair<std::string, double>>& values) {
  std::string line = "RESULT lesson=" + lesson;
  for (const auto& [key, value] : values) line += fmt::format(" {}={:.6g}", key, value);
  fmt::print("{}\n", line);
  std::fflush(stdout);
}

int report_error(const std::exception& error) {
  std::cout.flush();
  // A c10::Error's what() carries a C++ backtrace that helps LibTorch's developers, not a learner.
  if (const auto* torch_error = dynamic_cast<const c10::Error*>(&error)) {
    std::cerr << "error: " << torch_error->what_without_backtrace() << "\n";
  } else {
    std::cerr << "error: " << error.what() << "\n";
  }
  return 1;
}

}  // namespace course
