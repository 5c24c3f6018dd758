// Grades lesson 04's exercises against exercises/golden.json (written by exercises/golden.py).
// cmake/CourseExercises.cmake compiles this file twice: with the learner's exercise files on the
// include path, and with exercises/solutions/ instead. One test suite per exercise: Ex04_1, ...
#include <gtest/gtest.h>

#include "04.1_gradient_step.cpp"
#include "04.2_fit_line.cpp"
#include "golden.h"

using course::testing::AllClose;
using course::testing::Golden;

namespace {
const Golden& golden() {
  static const Golden file("04_linear_regression/exercises");
  return file;
}
}  // namespace

TEST(Ex04_1, ThreeStepsMatchPython) {
  const auto features = golden().tensor("gradient_step/inputs/features");  // (6, 2)
  const auto y = golden().tensor("gradient_step/inputs/y");                // (6)
  auto weight = torch::zeros({2}, torch::requires_grad());
  auto bias = torch::zeros({}, torch::requires_grad());
  std::vector<torch::Tensor> losses;
  for (int step = 0; step < 3; ++step)
    losses.push_back(gradient_step(weight, bias, features, y, 0.1));
  EXPECT_TRUE(AllClose(torch::stack(losses), golden().tensor("gradient_step/outputs/losses")))
      << "the three losses returned should be Python's mean squared errors before each step";
  EXPECT_TRUE(AllClose(weight.detach(), golden().tensor("gradient_step/outputs/weight")))
      << "after three steps of lr 0.1, weight should be where Python's is";
  EXPECT_TRUE(AllClose(bias.detach(), golden().tensor("gradient_step/outputs/bias")))
      << "after three steps of lr 0.1, bias should be where Python's is";
  ASSERT_TRUE(weight.grad().defined()) << "backward() should have filled weight.grad()";
  EXPECT_EQ(weight.grad().abs().sum().item<double>(), 0.0)
      << "weight.grad() should be zeroed after the update (backward() adds to it)";
}

TEST(Ex04_2, LineMatchesPython) {
  const auto x = golden().tensor("fit_line/inputs/x");  // (8)
  const auto y = golden().tensor("fit_line/inputs/y");
  EXPECT_TRUE(AllClose(fit_line(x, y), golden().tensor("fit_line/outputs/line"), 1e-4, 1e-5))
      << "fit_line(x, y) should be {intercept, slope} of Python's least-squares line";
  const auto exact = torch::linspace(-1, 1, 5);
  EXPECT_TRUE(AllClose(fit_line(exact, 3 * exact + 2), torch::tensor({2.0F, 3.0F}), 1e-4, 1e-5))
      << "points on y = 3x + 2 give intercept 2 and slope 3";
}
