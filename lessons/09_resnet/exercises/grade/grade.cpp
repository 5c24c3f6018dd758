// Grades lesson 09's exercises against exercises/golden.json (written by exercises/golden.py).
// cmake/CourseExercises.cmake compiles this file twice: with the learner's exercise files on the
// include path, and with exercises/solutions/ instead. One test suite per exercise: Ex09_1, ...
#include <gtest/gtest.h>

#include <string>

#include "09.1_basic_block.cpp"
#include "09.2_warmup_cosine_lr.cpp"
#include "golden.h"

using course::testing::AllClose;
using course::testing::Golden;

namespace {
const Golden& golden() {
  static const Golden file("09_resnet/exercises");
  return file;
}

// A block with Python's weights and running statistics, in eval() mode.
BasicBlock golden_block(const std::string& name, int64_t in, int64_t out, int64_t stride) {
  BasicBlock block(in, out, stride);
  torch::NoGradGuard no_grad;
  for (auto& item : block->named_parameters()) {
    item.value().copy_(golden().tensor(name + "/inputs/" + item.key()));
  }
  for (auto& item : block->named_buffers()) {  // running_mean, running_var
    if (item.key().find("num_batches_tracked") != std::string::npos) continue;
    item.value().copy_(golden().tensor(name + "/inputs/" + item.key()));
  }
  block->eval();
  return block;
}
}  // namespace

TEST(Ex09_1, IdentityShortcutMatchesPython) {
  BasicBlock block = golden_block("identity_block", 3, 3, 1);
  const auto x = golden().tensor("identity_block/inputs/x");  // (2, 3, 4, 4)
  const auto y = block->forward(x);
  ASSERT_EQ(y.sizes(), x.sizes()) << "a block with in == out and stride 1 keeps the shape";
  EXPECT_TRUE(AllClose(y, golden().tensor("identity_block/outputs/y"), 1e-4, 1e-5))
      << "with no projection, forward(x) should be relu(bn2(conv2(relu(bn1(conv1(x))))) + x): "
         "x itself is added back before the last ReLU";
}

TEST(Ex09_1, ProjectionShortcutMatchesPython) {
  BasicBlock block = golden_block("projection_block", 3, 5, 2);
  ASSERT_TRUE(block->has_projection());
  const auto x = golden().tensor("projection_block/inputs/x");  // (2, 3, 5, 5)
  const auto y = block->forward(x);
  ASSERT_EQ(y.sizes(), torch::IntArrayRef({2, 5, 3, 3}))
      << "3 -> 5 channels with stride 2 should turn (2, 3, 5, 5) into (2, 5, 3, 3)";
  EXPECT_TRUE(AllClose(y, golden().tensor("projection_block/outputs/y"), 1e-4, 1e-5))
      << "where the shape changes, the skip should be shortcut->forward(x) (the 1x1 conv and its "
         "batch norm), added to bn2(conv2(...)) before the last ReLU";
}

TEST(Ex09_2, MatchesPythonsSchedulers) {
  const double peak = golden().scalar("warmup_cosine/inputs/peak");
  const auto warmup = static_cast<int64_t>(golden().scalar("warmup_cosine/inputs/warmup"));
  const auto total = static_cast<int64_t>(golden().scalar("warmup_cosine/inputs/total"));
  const auto expected = golden().tensor("warmup_cosine/outputs/lr");  // (total,) float64
  for (int64_t step = 0; step < total; ++step) {
    EXPECT_NEAR(warmup_cosine_lr(peak, step, warmup, total), expected[step].item<double>(), 1e-8)
        << "step " << step << " of " << total << " (warm-up " << warmup << "): "
        << (step < warmup ? "in the warm-up, peak * (step + 1) / warmup_steps"
                          : "after it, peak * 0.5 * (1 + cos(pi * (step - warmup) / (total - "
                            "warmup)))")
        << ", as Python's LinearLR then CosineAnnealingLR give it";
    if (HasFailure()) break;  // the first wrong step says enough
  }
}

TEST(Ex09_2, TheEdgesOfTheWarmUp) {
  EXPECT_NEAR(warmup_cosine_lr(0.4, 0, 4, 20), 0.1, 1e-12)
      << "step 0 of a 4-step warm-up should train at peak / 4 already, not at 0";
  EXPECT_NEAR(warmup_cosine_lr(0.4, 3, 4, 20), 0.4, 1e-12)
      << "the last warm-up step (3 of 4) should reach the peak";
  EXPECT_NEAR(warmup_cosine_lr(0.4, 4, 4, 20), 0.4, 1e-12)
      << "the first step after the warm-up should start the cosine at the peak";
  EXPECT_NEAR(warmup_cosine_lr(0.4, 12, 4, 20), 0.2, 1e-12)
      << "half way through the cosine (step 12: 8 of its 16 steps) the rate should be peak / 2";
}
