// Lesson 02's promises: the very functions main.cpp defines give what Python PyTorch computed in
// reference.py (golden.json), the closed-form derivatives hold, NoGradGuard and InferenceMode
// differ as the lesson says, and the gradient check of the custom Function catches a wrong
// backward.
#define COURSE_TESTING
#include "main.cpp"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "golden.h"

using course::testing::AllClose;
using course::testing::Golden;

namespace {

// Seeds before each test, as PyTorch's own C++ tests do (nothing here draws random numbers, but a
// test added later that does will be repeatable).
class Autograd : public ::testing::Test {
 protected:
  void SetUp() override { torch::manual_seed(0); }
  const Golden golden{"02_autograd"};
};

// The same softplus with a backward that is 1% off: the gradient check must notice.
struct WrongSoftplus : public torch::autograd::Function<WrongSoftplus> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x) {
    ctx->save_for_backward({x});
    return torch::clamp_min(x, 0) + torch::log1p(torch::exp(-x.abs()));
  }
  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    return {grad_outputs[0] * torch::sigmoid(ctx->get_saved_variables()[0]) * 1.01};
  }
};

torch::Tensor softplus_sum(const torch::Tensor& x) {
  return stable_softplus(x).sum();
}

torch::Tensor naive_softplus_sum(const torch::Tensor& x) {
  return naive_softplus(x).sum();
}

}  // namespace

// ---- 1-2. backward() and .grad ----------------------------------------------------------------

TEST_F(Autograd, GradientOfTheCubicMatchesPython) {
  const torch::Tensor x = golden.tensor("polynomial/inputs/x");
  EXPECT_TRUE(AllClose(cubic(x), golden.tensor("polynomial/outputs/value")));
  EXPECT_TRUE(AllClose(gradient([](const torch::Tensor& t) { return cubic(t).sum(); }, x),
                       golden.tensor("polynomial/outputs/first")));
}

TEST_F(Autograd, GradientNeedsAScalarAndLeavesTheInputAlone) {
  const torch::Tensor x = torch::tensor({1.0, 2.0});
  EXPECT_THROW(gradient(cubic, x), c10::Error);  // not a scalar function
  EXPECT_TRUE(
      AllClose(gradient([](const torch::Tensor& t) { return t.sum(); }, x), torch::ones({2})));
  EXPECT_FALSE(x.requires_grad());
  EXPECT_FALSE(x.grad().defined());
}

TEST_F(Autograd, DetachStopsTheGradient) {
  const torch::Tensor x = golden.tensor("detach/inputs/x");
  const auto [full, detached] = detach_grads(x);
  EXPECT_TRUE(AllClose(full, golden.tensor("detach/outputs/full")));
  EXPECT_TRUE(AllClose(detached, golden.tensor("detach/outputs/detached")));
}

TEST_F(Autograd, GradientsAccumulateAcrossBackwardCalls) {
  const torch::Tensor x = golden.tensor("accumulation/inputs/x");
  const int calls = static_cast<int>(golden.scalar("accumulation/inputs/calls"));
  const Accumulation acc = accumulate(x, calls);
  EXPECT_TRUE(AllClose(acc.after_each, golden.tensor("accumulation/outputs/after_each")));
  EXPECT_TRUE(AllClose(acc.after_zero, golden.tensor("accumulation/outputs/after_zero")));
  EXPECT_EQ(acc.defined_after_reset,
            golden.scalar("accumulation/outputs/defined_after_reset") != 0);
  EXPECT_FALSE(acc.defined_after_reset);
  EXPECT_TRUE(AllClose(acc.after_reset_and_backward,
                       golden.tensor("accumulation/outputs/after_reset_and_backward")));
  for (int k = 0; k < calls; ++k) {  // row k is (k + 1) times the first: each call adds f'(x)
    EXPECT_TRUE(AllClose(acc.after_each[k], (k + 1) * acc.after_each[0])) << "row " << k;
  }
}

TEST_F(Autograd, SecondBackwardNeedsRetainGraph) {
  const torch::Tensor x = golden.tensor("accumulation/inputs/x");
  EXPECT_NE(error_of([&] { backward_twice(x, /*retain_graph=*/false); }).find("second time"),
            std::string::npos);
  EXPECT_TRUE(AllClose(backward_twice(x, /*retain_graph=*/true),
                       golden.tensor("accumulation/outputs/backward_twice_retained")));
}

// ---- 3. NoGradGuard versus InferenceMode -----------------------------------------------------

TEST_F(Autograd, NoGradTensorsStayUsableButInferenceTensorsDoNot) {
  const torch::Tensor w = torch::tensor({1.0F, 2.0F, 3.0F}, torch::requires_grad());
  const auto [no_grad_y, no_grad_error] = made_under<torch::NoGradGuard>(w);
  EXPECT_TRUE(AllClose(no_grad_y, torch::tensor({2.0F, 4.0F, 6.0F})));
  EXPECT_FALSE(no_grad_y.requires_grad());
  EXPECT_FALSE(no_grad_y.is_inference());
  EXPECT_EQ(no_grad_error, "");
  EXPECT_TRUE(AllClose(w.grad(), no_grad_y));  // used later as a constant: d/dw sum(y * w) = y
  const auto [inference_y, inference_error] = made_under<c10::InferenceMode>(w);
  EXPECT_TRUE(AllClose(inference_y, torch::tensor({2.0F, 4.0F, 6.0F})));
  EXPECT_FALSE(inference_y.requires_grad());
  EXPECT_TRUE(inference_y.is_inference());
  EXPECT_NE(inference_error.find("Inference tensor"), std::string::npos) << inference_error;
  struct NoGuard {  // without a guard, y = w * 2 is recorded
    ~NoGuard() {}   // (not trivial, like the real guards)
  };
  EXPECT_TRUE(made_under<NoGuard>(w).first.requires_grad());
}

TEST_F(Autograd, AnInPlaceChangeOfALeafNeedsNoGradGuard) {
  const torch::Tensor w = make_leaf(torch::ones({2}));
  EXPECT_NE(error_of([&] { w.sub_(0.1); }).find("leaf Variable that requires grad"),
            std::string::npos);
  EXPECT_EQ(error_of([&] {
              torch::NoGradGuard no_grad;
              w.sub_(0.1);
            }),
            "");
  EXPECT_TRUE(w.is_leaf());
  EXPECT_TRUE(AllClose(w, torch::full({2}, 0.9F)));
}

// ---- 4. Higher derivatives --------------------------------------------------------------------

TEST_F(Autograd, CubicDerivativesMatchPython) {
  const torch::Tensor x = golden.tensor("polynomial/inputs/x");
  const char* names[] = {"first", "second", "third", "fourth"};
  for (int order = 1; order <= 4; ++order) {
    EXPECT_TRUE(AllClose(derivative(cubic, x, order),
                         golden.tensor(std::string("polynomial/outputs/") + names[order - 1])))
        << "order " << order;
  }
}

TEST_F(Autograd, CubicDerivativesMatchClosedForm) {
  const torch::Tensor x = torch::linspace(-3, 3, 25, torch::kFloat64);
  EXPECT_TRUE(AllClose(derivative(cubic, x, 1), 3 * x * x - 4 * x + 3, 1e-12, 1e-12));
  EXPECT_TRUE(AllClose(derivative(cubic, x, 2), 6 * x - 4, 1e-12, 1e-12));
  EXPECT_TRUE(AllClose(derivative(cubic, x, 3), torch::full_like(x, 6), 1e-12, 1e-12));
  EXPECT_TRUE(AllClose(derivative(cubic, x, 4), torch::zeros_like(x), 0, 0));
}

TEST_F(Autograd, TanhDerivativesMatchPythonAndClosedForm) {
  const torch::Tensor x = golden.tensor("tanh/inputs/x");
  const torch::Tensor first = derivative(torch::tanh, x, 1);
  const torch::Tensor second = derivative(torch::tanh, x, 2);
  EXPECT_TRUE(AllClose(first, golden.tensor("tanh/outputs/first")));
  EXPECT_TRUE(AllClose(second, golden.tensor("tanh/outputs/second")));
  EXPECT_TRUE(AllClose(derivative(torch::tanh, x, 3), golden.tensor("tanh/outputs/third")));
  const torch::Tensor t = x.tanh();
  EXPECT_TRUE(AllClose(first, 1 - t * t, 1e-12, 1e-12));
  EXPECT_TRUE(AllClose(second, -2 * t * (1 - t * t), 1e-12, 1e-12));
}

TEST_F(Autograd, DerivativeOfWhatDoesNotDependOnXIsZero) {
  const torch::Tensor x = torch::linspace(-1, 1, 5, torch::kFloat64);
  // A value autograd does not track at all: no graph to walk.
  EXPECT_TRUE(
      AllClose(derivative([](const torch::Tensor& t) { return torch::full_like(t, 5); }, x, 1),
               torch::zeros_like(x), 0, 0));
  // A tracked value that does not come from x: grad() finds no path to x (allow_unused).
  const torch::Tensor other = torch::ones({5}, torch::kFloat64).requires_grad_(true);
  EXPECT_TRUE(AllClose(derivative([&](const torch::Tensor&) { return other * 3; }, x, 1),
                       torch::zeros_like(x), 0, 0));
  EXPECT_TRUE(AllClose(derivative([](const torch::Tensor& t) { return 3 * t; }, x, 2),
                       torch::zeros_like(x), 0, 0));
}

TEST_F(Autograd, DerivativeRejectsNonElementwiseFunctionsAndBadOrders) {
  const torch::Tensor x = torch::linspace(0, 1, 4);
  EXPECT_THROW(derivative([](const torch::Tensor& t) { return t.sum(); }, x, 1), c10::Error);
  EXPECT_THROW(derivative(cubic, x, 0), c10::Error);
}

// ---- 5. The custom Function and its check ------------------------------------------------------

TEST_F(Autograd, CustomSoftplusMatchesPythonFunction) {
  const torch::Tensor x = golden.tensor("softplus/inputs/x");  // float32, what main.cpp prints
  EXPECT_TRUE(AllClose(stable_softplus(x), golden.tensor("softplus/outputs/value")));
  EXPECT_TRUE(AllClose(gradient(softplus_sum, x), golden.tensor("softplus/outputs/first")));
  EXPECT_TRUE(
      AllClose(derivative(stable_softplus, x, 2), golden.tensor("softplus/outputs/second")));
}

TEST_F(Autograd, NaiveSoftplusFailsAsInPython) {
  const torch::Tensor x = golden.tensor("softplus/inputs/x");
  const torch::Tensor finite = x.slice(0, 0, -1);  // golden.json holds no inf or NaN
  EXPECT_TRUE(AllClose(naive_softplus(finite), golden.tensor("softplus/outputs/naive_value")));
  EXPECT_TRUE(AllClose(gradient(naive_softplus_sum, finite),
                       golden.tensor("softplus/outputs/naive_first")));
  ASSERT_EQ(x[-1].item<float>(), 100.0F);
  EXPECT_TRUE(std::isinf(naive_softplus(x)[-1].item<float>()));                // e^100 overflows
  EXPECT_TRUE(std::isnan(gradient(naive_softplus_sum, x)[-1].item<float>()));  // inf / inf
}

TEST_F(Autograd, CustomSoftplusIsFiniteAndExactWhereTheNaiveOneIsNot) {
  const torch::Tensor x = torch::tensor({-20.0F, 100.0F});
  EXPECT_EQ(naive_softplus(x)[0].item<float>(), 0.0F);  // log(1 + 2e-9) rounds to 0 in float32
  const torch::Tensor careful = stable_softplus(x);
  EXPECT_NEAR(careful[0].item<double>(), std::exp(-20.0), 1e-4 * std::exp(-20.0));
  EXPECT_EQ(careful[1].item<float>(), 100.0F);
  EXPECT_TRUE(AllClose(gradient(softplus_sum, x), torch::sigmoid(x)));
  const torch::Tensor wide = torch::linspace(-30, 30, 121);
  EXPECT_TRUE(AllClose(stable_softplus(wide), torch::softplus(wide), 1e-6, 1e-6));
}

TEST_F(Autograd, CustomBackwardMatchesCentralDifferencesAsInPython) {
  const torch::Tensor x = golden.tensor("gradient_check/inputs/x");
  const double eps = golden.scalar("gradient_check/inputs/eps");
  const torch::Tensor analytic = gradient(weighted_softplus_sum, x);
  const torch::Tensor numeric = numeric_gradient(weighted_softplus_sum, x, eps);
  EXPECT_TRUE(AllClose(analytic, golden.tensor("gradient_check/outputs/autograd"), 1e-7, 1e-9));
  EXPECT_TRUE(AllClose(numeric, golden.tensor("gradient_check/outputs/numeric"), 1e-7, 1e-9));
  EXPECT_LT(max_error(analytic, numeric), 1e-6);
  EXPECT_TRUE(AllClose(analytic,
                       torch::sigmoid(x) * torch::linspace(1, 2, x.numel(), torch::kFloat64), 1e-12,
                       1e-12));
  const torch::Tensor s = torch::sigmoid(x);  // second derivatives through the custom backward
  EXPECT_TRUE(AllClose(derivative(stable_softplus, x, 2), s * (1 - s), 1e-12, 1e-12));
}

TEST_F(Autograd, NumericGradientMatchesPythonOnANonElementwiseFunction) {
  const auto f = [](const torch::Tensor& x) { return (torch::sin(torch::cumsum(x, 0)) * x).sum(); };
  const torch::Tensor x = golden.tensor("numeric/inputs/x");
  const torch::Tensor numeric = numeric_gradient(f, x, golden.scalar("numeric/inputs/eps"));
  EXPECT_TRUE(AllClose(numeric, golden.tensor("numeric/outputs/numeric"), 1e-7, 1e-9));
  EXPECT_TRUE(AllClose(gradient(f, x), golden.tensor("numeric/outputs/autograd"), 1e-7, 1e-9));
  EXPECT_LT(max_error(numeric, gradient(f, x)), 1e-8);
}

TEST_F(Autograd, TheCheckCatchesAWrongBackward) {
  const auto wrong = [](const torch::Tensor& v) {
    return (WrongSoftplus::apply(v) * torch::linspace(1, 2, v.numel(), v.options())).sum();
  };
  const torch::Tensor x = torch::linspace(-5, 5, 11, torch::kFloat64);
  EXPECT_GT(max_error(gradient(wrong, x), numeric_gradient(wrong, x, 1e-6)), 1e-3);
}

// ---- Printing ---------------------------------------------------------------------------------

TEST_F(Autograd, ErrorOfGivesTheFirstSentence) {
  EXPECT_EQ(error_of([] {}), "");
  EXPECT_EQ(error_of([] { TORCH_CHECK(false, "one thing failed. More text"); }),
            "one thing failed");
  EXPECT_EQ(error_of([] { TORCH_CHECK(false, "it failed (because)"); }), "it failed");
}
