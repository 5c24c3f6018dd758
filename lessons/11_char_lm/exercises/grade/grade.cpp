// Grades lesson 11's exercises against exercises/golden.json (written by exercises/golden.py).
// cmake/CourseExercises.cmake compiles this file twice: with the learner's exercise files on the
// include path, and with exercises/solutions/ instead. One test suite per exercise: Ex11_1, ...
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "11.1_tbptt_windows.cpp"
#include "11.2_next_token_distribution.cpp"
#include "golden.h"

using course::testing::AllClose;
using course::testing::Golden;

namespace {
const Golden& golden() {
  static const Golden file("11_char_lm/exercises");
  return file;
}

// Compares every window of cut_into_windows with Python's for the golden case `name`.
void expect_windows_match(const std::string& name) {
  const auto tokens = golden().tensor(name + "/inputs/tokens");  // (N) int64
  const auto streams = static_cast<int64_t>(golden().scalar(name + "/inputs/streams"));
  const auto window = static_cast<int64_t>(golden().scalar(name + "/inputs/window"));
  TextWindows windows;
  const std::string error =
      course::testing::error_of([&] { windows = cut_into_windows(tokens, streams, window); });
  ASSERT_EQ(error, "(no error)")
      << "cut_into_windows(" << tokens.size(0) << " tokens, " << streams << ", " << window
      << ") should not throw. With L = N / B the targets tokens[1:B * L + 1] run past the end of "
         "the text: the last input has no token after it, so L = (N - 1) / B";
  const auto count = static_cast<size_t>(golden().scalar(name + "/outputs/windows"));
  ASSERT_EQ(windows.inputs.size(), count)
      << tokens.size(0) << " tokens as " << streams << " streams of (N - 1) / B tokens each, cut "
      << "into windows of " << window << " columns, should give " << count << " input window(s)";
  ASSERT_EQ(windows.targets.size(), count) << "there are as many target windows as input windows";
  for (size_t i = 0; i < count; ++i) {
    const std::string at = name + "/outputs/";
    EXPECT_TRUE(AllClose(windows.inputs[i], golden().tensor(at + "inputs_" + std::to_string(i))))
        << "input window " << i << " should be columns " << i * window << ".. of the (B, L) "
        << "layout tokens[:B * L].view(B, L): row b holds tokens b * L .. b * L + L - 1";
    EXPECT_TRUE(AllClose(windows.targets[i], golden().tensor(at + "targets_" + std::to_string(i))))
        << "target window " << i << " should be the input window one token later: "
        << "tokens[1:B * L + 1].view(B, L), cut the same way";
  }
}
}  // namespace

TEST(Ex11_1, WindowsMatchPython) {
  expect_windows_match("windows");  // 23 tokens, 3 streams of 7, windows of 3, 3 and 1 columns
}

TEST(Ex11_1, LastTokenIsOnlyATarget) {
  // 20 tokens in 4 streams: L = 19 / 4 = 4, not 20 / 4 = 5, so that the last input has a target.
  expect_windows_match("windows_exact");
}

TEST(Ex11_1, TargetsAreTheInputsShiftedByOne) {
  const auto tokens = torch::arange(41, torch::kInt64);  // token i is the number i
  const auto windows = cut_into_windows(tokens, /*streams=*/4, /*window=*/4);
  ASSERT_FALSE(windows.inputs.empty()) << "41 tokens in 4 streams make 10 columns: 3 windows";
  ASSERT_EQ(windows.inputs.size(), windows.targets.size())
      << "there are as many target windows as input windows";
  for (size_t i = 0; i < windows.inputs.size(); ++i) {
    ASSERT_TRUE(windows.targets[i].equal(windows.inputs[i] + 1))
        << "each target is the token right after its input (window " << i << " is not)";
  }
}

TEST(Ex11_2, TemperatureAndTopKMatchPython) {
  const auto logits = golden().tensor("next_token/inputs/logits");  // (8)
  const auto at = std::string("next_token/outputs/");
  EXPECT_TRUE(AllClose(next_token_probabilities(logits, 2.0, 0), golden().tensor(at + "t2_k0")))
      << "temperature 2, top_k 0: softmax(logits / 2) over every token";
  EXPECT_TRUE(AllClose(next_token_probabilities(logits, 1.0, 8), golden().tensor(at + "t1_k8")))
      << "temperature 1 and top_k = V (8): every token stays, softmax(logits)";
  EXPECT_TRUE(AllClose(next_token_probabilities(logits, 0.5, 3), golden().tensor(at + "t0.5_k3"),
                       1e-5, 1e-6))
      << "temperature 0.5, top_k 3: only the 3 largest logits keep a probability, the others 0";
}

TEST(Ex11_2, ProbabilitiesSumToOne) {
  const auto logits = golden().tensor("next_token/inputs/logits");
  const auto p = next_token_probabilities(logits, 0.7, 5);
  EXPECT_NEAR(p.sum().item<double>(), 1.0, 1e-5) << "the probabilities of the V tokens sum to 1";
  EXPECT_EQ(p.gt(0).sum().item<int64_t>(), 5) << "top_k 5 leaves exactly 5 tokens possible";
}

TEST(Ex11_2, TiesWithTheKthAreKept) {
  const auto tied = golden().tensor("next_token/inputs/tied");  // 0.5, 2, 1, 2, 1, -1
  EXPECT_TRUE(AllClose(next_token_probabilities(tied, 1.0, 3),
                       golden().tensor("next_token/outputs/tied_k3")))
      << "top_k 3 of (0.5, 2, 1, 2, 1, -1) keeps both 1s: every logit >= the 3rd largest stays, "
         "as Python's masked_fill(scaled < kth, -inf) does";
}

TEST(Ex11_2, TemperatureZeroIsGreedy) {
  const auto logits = golden().tensor("next_token/inputs/logits");
  const auto p = next_token_probabilities(logits, 0.0, 0);
  EXPECT_TRUE(AllClose(p, golden().tensor("next_token/outputs/t0_k0")))
      << "temperature 0 is greedy: probability 1 on the largest logit (index 1), 0 elsewhere, "
         "no NaN from dividing by 0";
}
