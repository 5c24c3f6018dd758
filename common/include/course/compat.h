// compat.h: the one place where LibTorch 2.6 and 2.11 differ for this course.
//
// The course builds on LibTorch 2.6 (Debian 13's libtorch-dev) through 2.11 (the pip wheel).
// Lessons never test versions themselves: they call what is here.
#pragma once

#include <torch/torch.h>
#include <torch/version.h>

#include <string>

/// True when the LibTorch being compiled against is at least MAJOR.MINOR.
#define COURSE_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) ||         \
   (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

namespace course {

/// "2.11.0": the LibTorch version the program was compiled with.
inline std::string torch_version() {
  return std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
         std::to_string(TORCH_VERSION_PATCH);
}

/// Number of CUDA devices LibTorch can use (0 on a CPU-only build or a machine without a GPU).
inline int cuda_device_count() {
  return torch::cuda::is_available() ? static_cast<int>(torch::cuda::device_count()) : 0;
}

}  // namespace course
