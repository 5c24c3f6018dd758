// Grades lesson 08's exercises against exercises/golden.json (written by exercises/golden.py).
// cmake/CourseExercises.cmake compiles this file twice: with the learner's exercise files on the
// include path, and with exercises/solutions/ instead. One test suite per exercise: Ex08_1, ...
#include <gtest/gtest.h>

#include "08.1_batch_norm_train.cpp"
#include "08.2_confusion_matrix.cpp"
#include "golden.h"

using course::testing::AllClose;
using course::testing::Golden;

namespace {
const Golden& golden() {
  static const Golden file("08_cnn/exercises");
  return file;
}
}  // namespace

TEST(Ex08_1, MatchesPythonsBatchNorm) {
  const auto x = golden().tensor("batch_norm/inputs/x");  // (2, 3, 2, 2)
  const auto y = batch_norm_train(x, golden().tensor("batch_norm/inputs/weight"),
                                  golden().tensor("batch_norm/inputs/bias"),
                                  golden().scalar("batch_norm/inputs/eps"));
  EXPECT_TRUE(AllClose(y, golden().tensor("batch_norm/outputs/y"), 1e-4, 1e-5))
      << "each channel should be normalised with its own mean and biased variance over the "
         "batch and the pixels (dims 0, 2, 3), then scaled by weight[c] and shifted by bias[c], "
         "as Python's F.batch_norm(..., training=True)";
}

TEST(Ex08_1, EachChannelComesOutNormalised) {
  const auto x = torch::arange(2 * 2 * 3 * 3, torch::kFloat32).view({2, 2, 3, 3}).pow(1.5);
  const auto y = batch_norm_train(x, torch::ones({2}), torch::zeros({2}), 0.0);
  ASSERT_EQ(y.sizes(), x.sizes()) << "the output should have the input's shape (B, C, H, W)";
  EXPECT_TRUE(AllClose(y.mean({0, 2, 3}), torch::zeros({2}), 1e-4, 1e-4))
      << "with weight 1 and bias 0, every channel of the output should have mean 0";
  EXPECT_TRUE(AllClose(y.pow(2).mean({0, 2, 3}), torch::ones({2}), 1e-4, 1e-4))
      << "with weight 1, bias 0 and eps 0, every channel should have variance 1 (the biased "
         "one: divide by B * H * W, not by B * H * W - 1)";
}

TEST(Ex08_2, MatchesPython) {
  const auto predicted = golden().tensor("confusion/inputs/predicted");  // (20,)
  const auto labels = golden().tensor("confusion/inputs/labels");        // (20,)
  const auto classes = static_cast<int64_t>(golden().scalar("confusion/inputs/classes"));
  const auto matrix = confusion_matrix(predicted, labels, classes);
  EXPECT_EQ(matrix.scalar_type(), torch::kInt64) << "the counts should be int64";
  EXPECT_TRUE(matrix.equal(golden().tensor("confusion/outputs/matrix")))
      << "entry [t][p] should count the samples of true class t predicted as p, as Python's "
         "index_put_(..., accumulate=True) counts them";
}

TEST(Ex08_2, RowsAreTrueClassesAndRepeatsCount) {
  const auto one = confusion_matrix(torch::tensor({2}, torch::kInt64),
                                    torch::tensor({0}, torch::kInt64), 3);  // true 0, predicted 2
  EXPECT_EQ(one[0][2].item<int64_t>(), 1)
      << "a sample of true class 0 predicted as 2 should count at [0][2]: rows are the true class";
  const auto same =
      confusion_matrix(torch::full({5}, 1, torch::kInt64), torch::full({5}, 1, torch::kInt64), 2);
  EXPECT_EQ(same[1][1].item<int64_t>(), 5)
      << "five samples of class 1, all predicted 1, should count 5 at [1][1]: with index_put_ "
         "pass accumulate=true, or each position counts only once";
}
