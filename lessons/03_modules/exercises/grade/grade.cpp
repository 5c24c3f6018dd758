// Grades lesson 03's exercises against exercises/golden.json (written by exercises/golden.py).
// cmake/CourseExercises.cmake compiles this file twice: with the learner's exercise files on the
// include path, and with exercises/solutions/ instead. One test suite per exercise: Ex03_1, ...
#include <gtest/gtest.h>

#include <string>

#include "03.1_residual_block.cpp"
#include "03.2_count_trainable.cpp"
#include "golden.h"

using course::testing::AllClose;
using course::testing::Golden;

namespace {
const Golden& golden() {
  static const Golden file("03_modules/exercises");
  return file;
}
}  // namespace

TEST(Ex03_1, ForwardMatchesPython) {
  ResidualBlock block(4);
  {
    torch::NoGradGuard no_grad;
    for (auto& item : block->named_parameters()) {  // "fc1.weight", ... from Python's weights
      item.value().copy_(golden().tensor("residual_block/inputs/" + item.key()));
    }
  }
  const auto x = golden().tensor("residual_block/inputs/x");  // (3, 4)
  const auto y = block->forward(x);
  EXPECT_TRUE(AllClose(y, golden().tensor("residual_block/outputs/y")))
      << "forward(x) should be x + fc2(relu(fc1(x))), as Python computes it with the same weights";
}

TEST(Ex03_2, CountsOnlyTrainableParameters) {
  torch::nn::Sequential model(torch::nn::Linear(4, 8), torch::nn::ReLU(), torch::nn::Linear(8, 3));
  EXPECT_EQ(static_cast<double>(count_trainable(*model)),
            golden().scalar("count_trainable/outputs/all"))
      << "Linear(4, 8) + Linear(8, 3) have 4*8 + 8 + 8*3 + 3 = 67 trainable values";
  for (auto& parameter : model[0]->parameters()) parameter.requires_grad_(false);  // freeze
  EXPECT_EQ(static_cast<double>(count_trainable(*model)),
            golden().scalar("count_trainable/outputs/first_frozen"))
      << "with the first Linear frozen (requires_grad false), only 8*3 + 3 = 27 values train";
}
