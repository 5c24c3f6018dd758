// Grades lesson 17's exercises against exercises/golden.json (written by exercises/golden.py).
// cmake/CourseExercises.cmake compiles this file twice: with the learner's exercise files on the
// include path, and with exercises/solutions/ instead. One test suite per exercise: Ex17_1, ...
// No operator library is loaded: the exercises are the formulas, checked against autograd.
#include <gtest/gtest.h>

#include <string>

#include "17.1_swiglu_backward.cpp"
#include "17.2_swiglu_function.cpp"
#include "golden.h"

using course::testing::AllClose;
using course::testing::Golden;

namespace {
const Golden& golden() {
  static const Golden file("17_custom_op/exercises");
  return file;
}

// C++ autograd's gradients of silu(a) * b for upstream gradient `grad`: what the formulas must
// give.
std::pair<torch::Tensor, torch::Tensor> autograd_gradients(const torch::Tensor& grad,
                                                           const torch::Tensor& a,
                                                           const torch::Tensor& b) {
  auto a_ = a.detach().clone().requires_grad_();
  auto b_ = b.detach().clone().requires_grad_();
  (torch::silu(a_) * b_).backward(grad);
  return {a_.grad(), b_.grad()};
}
}  // namespace

TEST(Ex17_1, GradientsMatchAutograd) {
  for (const std::string name : {"backward", "saturated"}) {
    const auto a = golden().tensor(name + "/inputs/a");
    const auto b = golden().tensor(name + "/inputs/b");
    const auto grad = golden().tensor(name + "/inputs/grad");  // not all ones
    const auto [grad_a, grad_b] = swiglu_backward_by_hand(grad, a, b);
    const auto [want_a, want_b] = autograd_gradients(grad, a, b);
    EXPECT_TRUE(AllClose(grad_b, want_b, 1e-5, 1e-5))
        << "grad_b = grad * a * sigmoid(a) (= grad * silu(a)), as autograd computes (" << name
        << ")";
    EXPECT_TRUE(AllClose(grad_a, want_a, 1e-5, 1e-5))
        << "grad_a = grad * b * s * (1 + a * (1 - s)) with s = sigmoid(a): the derivative of "
           "a * sigmoid(a) needs the product rule ("
        << name << ")";
  }
}

TEST(Ex17_1, GradientsMatchPython) {
  const auto [grad_a, grad_b] = swiglu_backward_by_hand(golden().tensor("backward/inputs/grad"),
                                                        golden().tensor("backward/inputs/a"),
                                                        golden().tensor("backward/inputs/b"));
  EXPECT_TRUE(AllClose(grad_a, golden().tensor("backward/outputs/grad_a"), 1e-5, 1e-5))
      << "grad_a should equal Python's torch.autograd.grad(F.silu(a) * b, a, grad)";
  EXPECT_TRUE(AllClose(grad_b, golden().tensor("backward/outputs/grad_b"), 1e-5, 1e-5))
      << "grad_b should equal Python's torch.autograd.grad(F.silu(a) * b, b, grad)";
}

TEST(Ex17_2, ForwardIsSwiGLU) {
  const auto a = golden().tensor("function/inputs/a");
  const auto b = golden().tensor("function/inputs/b");
  EXPECT_TRUE(AllClose(swiglu_by_hand(a, b), golden().tensor("function/outputs/out"), 1e-5, 1e-5))
      << "forward should return silu(a) * b = a * sigmoid(a) * b, Python's F.silu(a) * b";
}

TEST(Ex17_2, BackwardGivesAutogradsGradients) {
  auto a = golden().tensor("function/inputs/a").requires_grad_();
  auto b = golden().tensor("function/inputs/b").requires_grad_();
  const auto grad = golden().tensor("function/inputs/grad");
  const auto out = swiglu_by_hand(a, b);
  ASSERT_TRUE(out.requires_grad()) << "the output of SwiGLUByHand::apply should require grad";
  out.backward(grad);
  ASSERT_TRUE(a.grad().defined() && b.grad().defined())
      << "backward should return one gradient per input of forward: {grad_a, grad_b}";
  EXPECT_TRUE(AllClose(a.grad(), golden().tensor("function/outputs/grad_a"), 1e-5, 1e-5))
      << "a.grad() after backward should be Python's gradient of F.silu(a) * b with respect to a";
  EXPECT_TRUE(AllClose(b.grad(), golden().tensor("function/outputs/grad_b"), 1e-5, 1e-5))
      << "b.grad() after backward should be Python's gradient of F.silu(a) * b with respect to b";
}

TEST(Ex17_2, BackwardOfASum) {
  // sum() hands backward an expanded gradient of ones (stride 0): the formulas must not mind.
  auto a = golden().tensor("saturated/inputs/a").requires_grad_();
  auto b = golden().tensor("saturated/inputs/b").requires_grad_();
  swiglu_by_hand(a, b).sum().backward();
  const auto [want_a, want_b] = autograd_gradients(torch::ones_like(a), a, b);
  EXPECT_TRUE(a.grad().defined() && AllClose(a.grad(), want_a, 1e-5, 1e-5))
      << "the gradient of silu(a) * b summed, with respect to a, should be autograd's, also where "
         "|a| is 12 and sigmoid(a) is close to 0 or 1";
  EXPECT_TRUE(b.grad().defined() && AllClose(b.grad(), want_b, 1e-5, 1e-5))
      << "the gradient of silu(a) * b summed, with respect to b, should be silu(a)";
}
