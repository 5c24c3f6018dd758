// Grades lesson 02's exercises against exercises/golden.json (written by exercises/golden.py).
// cmake/CourseExercises.cmake compiles this file twice: with the learner's exercise files on the
// include path, and with exercises/solutions/ instead. One test suite per exercise: Ex02_1, ...
#include <gtest/gtest.h>

#include "02.1_cubic_slope.cpp"
#include "02.2_tanh_second_derivative.cpp"
#include "golden.h"

using course::testing::AllClose;
using course::testing::Golden;

namespace {
const Golden& golden() {
  static const Golden file("02_autograd/exercises");
  return file;
}
}  // namespace

TEST(Ex02_1, SlopeMatchesPython) {
  const auto x = golden().tensor("cubic_slope/inputs/x");  // (9)
  const auto slope = cubic_slope(x);
  EXPECT_TRUE(AllClose(slope, golden().tensor("cubic_slope/outputs/slope")))
      << "cubic_slope(x) should be f'(x) = 3x^2 - 4x + 3 at each of x = -2, -1.5, ..., 2";
  EXPECT_FALSE(x.requires_grad()) << "cubic_slope must leave x as it was (no requires_grad)";
}

TEST(Ex02_2, SecondDerivativeMatchesPython) {
  const auto x = golden().tensor("tanh_second_derivative/inputs/x");  // (9), float64
  const auto second = tanh_second_derivative(x);
  EXPECT_TRUE(AllClose(second, golden().tensor("tanh_second_derivative/outputs/second")))
      << "tanh_second_derivative(x) should be tanh'' = -2 tanh (1 - tanh^2) at each x";
  EXPECT_FALSE(second.requires_grad()) << "return the second derivative detached, without a graph";
}
