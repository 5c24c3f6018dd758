// Grades lesson 19's exercises against exercises/golden.json (written by exercises/golden.py).
// cmake/CourseExercises.cmake compiles this file twice: with the learner's exercise files on the
// include path, and with exercises/solutions/ instead. One test suite per exercise: Ex19_1, ...
// CPU only: autocast with bfloat16, and a GradScaler fed gradients (no model, no GPU).
#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

#include "19.1_autocast_scope.cpp"
#include "19.2_grad_scaler.cpp"
#include "golden.h"

using course::testing::AllClose;
using course::testing::Golden;

namespace {
const Golden& golden() {
  static const Golden file("19_performance/exercises");
  return file;
}

constexpr auto kCpu = c10::DeviceType::CPU;

// Autocast's state is per thread and outlives a test: each test starts and ends with it off, the
// dtype bfloat16 and no nesting, whatever the exercise left behind.
class Ex19_1 : public ::testing::Test {
 protected:
  void SetUp() override { reset(); }
  void TearDown() override { reset(); }
  static void reset() {
    at::autocast::set_autocast_enabled(kCpu, false);
    at::autocast::set_autocast_dtype(kCpu, at::kBFloat16);
    while (nesting() > 0) at::autocast::decrement_nesting();
    while (nesting() < 0) at::autocast::increment_nesting();
  }
  // Autocast's nesting level, read without changing it.
  static int nesting() {
    const int level = static_cast<int>(at::autocast::decrement_nesting()) + 1;
    at::autocast::increment_nesting();
    return level;
  }
};
}  // namespace

TEST_F(Ex19_1, OnInsideOffAfter) {
  const auto a = golden().tensor("autocast/inputs/a");  // (3, 4) float32
  const auto b = golden().tensor("autocast/inputs/b");  // (4, 2) float32
  int nesting_inside = 0;
  {
    ScopedAutocast guard(kCpu, true, at::kBFloat16);
    EXPECT_TRUE(at::autocast::is_autocast_enabled(kCpu)) << "inside the scope autocast is on";
    const auto product = a.matmul(b);
    EXPECT_EQ(product.scalar_type(), at::kBFloat16)
        << "inside the scope a matmul of float32 tensors computes in bfloat16";
    EXPECT_TRUE(AllClose(product.to(at::kFloat), golden().tensor("autocast/outputs/mm_autocast"),
                         8e-3, 1e-3))  // a bfloat16 ulp is 0.4%; float32's answer is 2% away
        << "inside the scope a @ b should be what Python's torch.autocast(\"cpu\", "
           "dtype=torch.bfloat16) gives";
    nesting_inside = nesting();
  }
  EXPECT_FALSE(at::autocast::is_autocast_enabled(kCpu))
      << "after the scope autocast is off again, as it was before";
  EXPECT_EQ(nesting_inside, 1) << "inside one guard autocast's nesting level is 1: call "
                                  "at::autocast::increment_nesting() in the constructor";
  EXPECT_EQ(nesting(), 0) << "after the scope the nesting level is back to 0: "
                             "at::autocast::decrement_nesting() in the destructor";
  EXPECT_EQ(a.matmul(b).scalar_type(), at::kFloat) << "after the scope matmul is float32 again";
}

TEST_F(Ex19_1, RestoresTheDtypeThatWasThere) {
  at::autocast::set_autocast_dtype(kCpu, at::kHalf);  // someone chose float16 before
  { ScopedAutocast guard(kCpu, true, at::kBFloat16); }
  EXPECT_EQ(at::autocast::get_autocast_dtype(kCpu), at::kHalf)
      << "the guard should set back the dtype it found (float16 here), not a default";
  EXPECT_FALSE(at::autocast::is_autocast_enabled(kCpu)) << "and autocast off, as it was";
}

TEST_F(Ex19_1, GuardsNest) {
  ScopedAutocast outer(kCpu, true, at::kBFloat16);
  {
    ScopedAutocast inner(kCpu, false, at::kBFloat16);  // e.g. the loss in float32
    EXPECT_FALSE(at::autocast::is_autocast_enabled(kCpu)) << "the inner guard turns autocast off";
  }
  EXPECT_TRUE(at::autocast::is_autocast_enabled(kCpu))
      << "when the inner guard ends, the outer guard's state (on) comes back";
}

TEST_F(Ex19_1, AnExceptionRestoresToo) {
  try {
    ScopedAutocast guard(kCpu, true, at::kBFloat16);
    throw std::runtime_error("the forward pass failed");
  } catch (const std::runtime_error&) {
  }
  EXPECT_FALSE(at::autocast::is_autocast_enabled(kCpu))
      << "a scope left by an exception restores the state too: that is what RAII is for";
}

TEST(Ex19_2, SevenStepsMatchPythonsGradScaler) {
  LossScale state;
  state.scale = 1024;  // Python: GradScaler(init_scale=1024, growth_interval=2)
  for (int step = 0; step < 7; ++step) {
    const std::string in = "scaler/inputs/step" + std::to_string(step) + "/";
    const std::string out = "scaler/outputs/step" + std::to_string(step) + "/";
    std::vector<torch::Tensor> grads = {golden().tensor(in + "grad0"),   // (3)
                                        golden().tensor(in + "grad1")};  // (2, 2)
    const auto poison = static_cast<int>(golden().scalar(in + "poison"));
    if (poison != 0) {  // an overflowed step: put the inf or NaN where golden.py did
      const auto grad = static_cast<size_t>(golden().scalar(in + "poison_grad"));
      const auto index = static_cast<int64_t>(golden().scalar(in + "poison_index"));
      grads[grad].view(-1)[index] = poison == 1 ? std::numeric_limits<float>::infinity()
                                                : std::numeric_limits<float>::quiet_NaN();
    }
    const std::string what = "step " + std::to_string(step) +
                             (poison == 1   ? " (a gradient holds inf)"
                              : poison == 2 ? " (a gradient holds NaN)"
                                            : " (all gradients finite)");
    const bool stepped = scaler_step(grads, state, /*growth_interval=*/2);
    EXPECT_EQ(stepped, golden().scalar(out + "stepped") == 1)
        << what << ": step only when every gradient is finite; skip on inf and on NaN";
    EXPECT_EQ(state.scale, golden().scalar(out + "scale"))
        << what
        << ": the scale after it, as Python's scaler.get_scale(): halved after a skipped "
           "step, doubled after 2 good steps in a row";
    EXPECT_EQ(state.good_steps, static_cast<int64_t>(golden().scalar(out + "good_steps")))
        << what
        << ": good steps in a row since the scale last changed (a skipped step resets "
           "them to 0, and so does growing)";
    if (stepped && golden().has(out + "unscaled0")) {
      EXPECT_TRUE(AllClose(grads[0], golden().tensor(out + "unscaled0")) &&
                  AllClose(grads[1], golden().tensor(out + "unscaled1")))
          << what
          << ": the gradients are unscaled in place, divided by the scale they were "
             "made with (the scale before this step's update)";
    }
    if (::testing::Test::HasFailure()) break;  // the first wrong step says the most
  }
}
