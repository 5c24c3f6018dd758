// Grades lesson 01's exercises against exercises/golden.json (written by exercises/golden.py).
// cmake/CourseExercises.cmake compiles this file twice: with the learner's exercise files on the
// include path, and with exercises/solutions/ instead. One test suite per exercise: Ex01_1, ...
#include <gtest/gtest.h>

#include "01.1_pairwise_distances.cpp"
#include "01.2_checkerboard.cpp"
#include "golden.h"

using course::testing::AllClose;
using course::testing::Golden;

namespace {
const Golden& golden() {
  static const Golden file("01_tensors/exercises");
  return file;
}
}  // namespace

TEST(Ex01_1, DistancesMatchPython) {
  const auto points = golden().tensor("pairwise_distances/inputs/points");    // (5, 3)
  const auto centers = golden().tensor("pairwise_distances/inputs/centers");  // (4, 3)
  const auto distances = pairwise_distances(points, centers);
  EXPECT_TRUE(AllClose(distances, golden().tensor("pairwise_distances/outputs/distances")))
      << "pairwise_distances(points (5, 3), centers (4, 3)) should give Python's (5, 4) distances";
}

TEST(Ex01_1, APointIsAtDistanceZeroFromItself) {
  const auto points = torch::tensor({{1.0F, 2.0F}, {4.0F, 6.0F}});
  EXPECT_TRUE(
      AllClose(pairwise_distances(points, points), torch::tensor({{0.0F, 5.0F}, {5.0F, 0.0F}})))
      << "the points (1, 2) and (4, 6) are 5 apart, and each is 0 from itself";
}

TEST(Ex01_2, CheckerboardMatchesPython) {
  const auto board = checkerboard(5);
  EXPECT_EQ(board.scalar_type(), torch::kFloat32) << "checkerboard should be float32";
  EXPECT_TRUE(AllClose(board, golden().tensor("checkerboard/outputs/board5")))
      << "checkerboard(5) should be 1 where row + column is even, 0 where it is odd";
  EXPECT_TRUE(AllClose(checkerboard(1), torch::ones({1, 1}))) << "checkerboard(1) is [[1]]";
}
