// Grades lesson 16's exercises against exercises/golden.json (written by exercises/golden.py).
// cmake/CourseExercises.cmake compiles this file twice: with the learner's exercise files on the
// include path, and with exercises/solutions/ instead. One test suite per exercise: Ex16_1, ...
// No exported model is needed: a linear map stands in for the compiled package.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "16.1_fixed_batches.cpp"
#include "16.2_latency_summary.cpp"
#include "golden.h"

using course::testing::AllClose;
using course::testing::Golden;

namespace {
const Golden& golden() {
  static const Golden file("16_aot_inductor/exercises");
  return file;
}

// A "package compiled for batch 4": records the batch of every call, and maps each image to 3
// numbers with the golden weight (whatever the batch, so a wrong batch shows in `calls`).
struct FakePackage {
  std::vector<int64_t> calls;
  torch::Tensor last_input;
  torch::Tensor run(const torch::Tensor& x) {
    calls.push_back(x.size(0));
    last_input = x;
    return x.flatten(1).matmul(golden().tensor("fixed_batches/inputs/weight"));  // (b, 3)
  }
};

std::vector<double> runs_of(const std::string& name) {
  const auto ms = golden().tensor("latency/inputs/" + name).to(torch::kDouble).contiguous();
  return {ms.data_ptr<double>(), ms.data_ptr<double>() + ms.numel()};
}

std::string listed(const std::vector<double>& ms) {
  std::string text;
  for (const double value : ms) text += (text.empty() ? "" : ", ") + std::to_string(value);
  return text;
}

LatencySummary summary_of(const std::string& name) {
  return latency_summary(runs_of(name));
}
}  // namespace

TEST(Ex16_1, ElevenImagesInBatchesOfFour) {
  const auto images = golden().tensor("fixed_batches/inputs/images");  // (11, 1, 4, 4)
  FakePackage package;
  const auto logits =
      run_fixed_batches(images, 4, [&](const torch::Tensor& x) { return package.run(x); });
  EXPECT_EQ(package.calls, (std::vector<int64_t>{4, 4, 4}))
      << "11 images with batch 4 are three calls, each with exactly 4 rows (the last padded)";
  EXPECT_TRUE(AllClose(logits, golden().tensor("fixed_batches/outputs/logits"), 1e-5, 1e-5))
      << "the answer should have one row per image (11, 3), row i the answer for image i";
  if (package.last_input.defined() && package.last_input.size(0) == 4) {
    EXPECT_EQ(package.last_input.slice(0, 3).abs().sum().item<double>(), 0.0)
        << "the last chunk holds images 8, 9, 10 and one padding row of zeros";
  }
}

TEST(Ex16_1, AMultipleOfTheBatchNeedsNoPadding) {
  const auto images = golden().tensor("fixed_batches/inputs/images").slice(0, 0, 8);  // (8, ...)
  FakePackage package;
  const auto logits =
      run_fixed_batches(images, 4, [&](const torch::Tensor& x) { return package.run(x); });
  EXPECT_EQ(package.calls, (std::vector<int64_t>{4, 4}))
      << "8 images with batch 4 are exactly two calls: no third call for an empty chunk";
  EXPECT_TRUE(
      AllClose(logits, golden().tensor("fixed_batches/outputs/logits").slice(0, 0, 8), 1e-5, 1e-5))
      << "8 images give 8 answers, in order";
}

TEST(Ex16_1, FewerImagesThanTheBatch) {
  const auto images = golden().tensor("fixed_batches/inputs/images").slice(0, 0, 3);  // (3, ...)
  FakePackage package;
  const auto logits =
      run_fixed_batches(images, 4, [&](const torch::Tensor& x) { return package.run(x); });
  EXPECT_EQ(package.calls, (std::vector<int64_t>{4}))
      << "3 images with batch 4 are one call with 4 rows: 3 images and one row of zeros";
  EXPECT_TRUE(
      AllClose(logits, golden().tensor("fixed_batches/outputs/logits").slice(0, 0, 3), 1e-5, 1e-5))
      << "3 images give 3 answers: the padding row's answer is dropped";
}

TEST(Ex16_2, TwoHundredRunsWithThreeOutliers) {
  const LatencySummary s = summary_of("n200");
  EXPECT_NEAR(s.median_ms, golden().scalar("latency/outputs/n200_median"), 1e-6)
      << "the median of 200 runs is the mean of the 100th and 101st smallest (sort first)";
  EXPECT_NEAR(s.p99_ms, golden().scalar("latency/outputs/n200_p99"), 1e-6)
      << "p99 of 200 runs is the 198th smallest (rank ceil(0.99 * 200) = 198, index 197): the "
         "two slowest runs must not set it";
}

TEST(Ex16_2, OddEvenAndOneRun) {
  for (const std::string name : {"n5", "n4", "n1"}) {
    const LatencySummary s = summary_of(name);
    EXPECT_NEAR(s.median_ms, golden().scalar("latency/outputs/" + name + "_median"), 1e-6)
        << "median of the runs " << listed(runs_of(name))
        << ": the middle value after sorting, for an even count the mean of the two middle ones";
    EXPECT_NEAR(s.p99_ms, golden().scalar("latency/outputs/" + name + "_p99"), 1e-6)
        << "p99 of the runs " << listed(runs_of(name))
        << ": with fewer than 100 runs, the nearest rank is the largest";
  }
}
