// golden.h: reading lessons/<lesson>/golden.json (written by the lesson's reference.py) and
// comparing tensors with a tolerance.
#pragma once

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <functional>
#include <string>

namespace course::testing {

/// One golden file: named cases, each with input and output tensors (and scalars).
class Golden {
 public:
  /// Loads lessons/<lesson>/golden.json; a missing or malformed file fails loudly.
  explicit Golden(const std::string& lesson);
  ~Golden();
  Golden(Golden&&) noexcept;

  /// A tensor at "case/inputs/name" or "case/outputs/name" (float64 data becomes the dtype stored).
  torch::Tensor tensor(const std::string& path) const;
  /// A number at such a path.
  double scalar(const std::string& path) const;
  /// Whether the path exists.
  bool has(const std::string& path) const;

 private:
  struct Data;
  std::unique_ptr<Data> data_;
};

/// The lessons/ folder: $COURSE_LESSONS_DIR, else the source tree these tests were built in (the
/// environment moves it along when the built tests run elsewhere: tools/gpu-check).
std::string lessons_dir();

/// The Python with torch that tests run reference.py with: $COURSE_TORCH_PYTHON, else the one
/// ./course found when it configured (COURSE_TORCH_PYTHON), else python3.
std::string torch_python();

/// gtest assertion: same shape, NaN at the same places, and |actual - expected| <=
/// atol + rtol * |expected| everywhere else.
::testing::AssertionResult AllClose(const torch::Tensor& actual, const torch::Tensor& expected,
                                    double rtol = 1e-5, double atol = 1e-6);

/// The message of the exception `action` throws (a c10::Error's without its C++ backtrace), or
/// "(no error)" when it throws none: EXPECT_NE(error_of([&] { f(); }).find("--lr"), npos).
std::string error_of(const std::function<void()>& action);

/// Skips the current test when LibTorch sees no GPU (for tests named *_CUDA).
#define COURSE_REQUIRE_CUDA()                                        \
  do {                                                               \
    if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA GPU"; \
  } while (0)

}  // namespace course::testing
