// Grades lesson 05's exercises against exercises/golden.json (written by exercises/golden.py).
// cmake/CourseExercises.cmake compiles this file twice: with the learner's exercise files on the
// include path, and with exercises/solutions/ instead. One test suite per exercise: Ex05_1, ...
#include <gtest/gtest.h>

#include <cmath>

#include "05.1_cross_entropy.cpp"
#include "05.2_accuracy.cpp"
#include "golden.h"

using course::testing::AllClose;
using course::testing::Golden;

namespace {
const Golden& golden() {
  static const Golden file("05_logistic_regression/exercises");
  return file;
}
}  // namespace

TEST(Ex05_1, LossMatchesPython) {
  const auto logits = golden().tensor("cross_entropy/inputs/logits");  // (4, 5)
  const auto labels = golden().tensor("cross_entropy/inputs/labels");  // (4) int64
  EXPECT_TRUE(AllClose(cross_entropy_by_hand(logits, labels),
                       golden().tensor("cross_entropy/outputs/loss"), 1e-5, 1e-5))
      << "cross_entropy_by_hand should equal Python's F.cross_entropy(logits, labels)";
}

TEST(Ex05_1, LargeLogitsDoNotOverflow) {
  const auto logits = golden().tensor("cross_entropy/inputs/large_logits");  // logits + 1000
  const auto labels = golden().tensor("cross_entropy/inputs/labels");
  const auto loss = cross_entropy_by_hand(logits, labels);
  EXPECT_TRUE(std::isfinite(loss.item<double>()))
      << "with logits near 1000, exp overflows to inf: subtract each row's max first";
  EXPECT_TRUE(AllClose(loss, golden().tensor("cross_entropy/outputs/large_loss"), 1e-4, 1e-4))
      << "adding 1000 to every logit must not change the loss";
}

TEST(Ex05_2, AccuracyMatchesPython) {
  const auto logits = golden().tensor("accuracy/inputs/logits");  // (8, 3)
  const auto labels = golden().tensor("accuracy/inputs/labels");
  EXPECT_DOUBLE_EQ(accuracy(logits, labels), golden().scalar("accuracy/outputs/accuracy"))
      << "accuracy = the fraction of rows whose largest logit stands at the label";
  EXPECT_DOUBLE_EQ(accuracy(torch::eye(3), torch::arange(3)), 1.0)
      << "every prediction right: accuracy 1";
}
