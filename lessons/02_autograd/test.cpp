// Tests of lesson 02 (lessons/02_autograd/autograd.h): every function against the values Python
// PyTorch computed in lessons/02_autograd/reference.py (tests/golden/02_autograd.json), plus
// checks that need no golden: closed-form derivatives, central differences, and gradcheck
// failing on a deliberately wrong backward.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>

#include "autograd.h"
#include "golden.h"

namespace ag = course::autograd;
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

/// The same softplus with a backward that is 1% off: gradcheck must notice.
struct WrongSoftplus : public torch::autograd::Function<WrongSoftplus> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x) {
    ctx->save_for_backward({x});
    return torch::clamp_min(x, 0) + torch::log1p(torch::exp(-x.abs()));
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    const torch::Tensor x = ctx->get_saved_variables()[0];
    return {grad_outputs[0] * torch::sigmoid(x) * 1.01};
  }
};

torch::Tensor softplus_sum(const torch::Tensor& x) {
  return ag::softplus(x).sum();
}

}  // namespace

// ---- Derivatives ---------------------------------------------------------------------------

TEST_F(Autograd, CubicDerivativesMatchPython) {
  const torch::Tensor x = golden.tensor("polynomial/inputs/x");
  EXPECT_TRUE(AllClose(ag::cubic(x), golden.tensor("polynomial/outputs/value")));
  EXPECT_TRUE(AllClose(ag::derivative(ag::cubic, x, 1), golden.tensor("polynomial/outputs/first")));
  EXPECT_TRUE(
      AllClose(ag::derivative(ag::cubic, x, 2), golden.tensor("polynomial/outputs/second")));
  EXPECT_TRUE(AllClose(ag::derivative(ag::cubic, x, 3), golden.tensor("polynomial/outputs/third")));
  EXPECT_TRUE(
      AllClose(ag::derivative(ag::cubic, x, 4), golden.tensor("polynomial/outputs/fourth")));
}

TEST_F(Autograd, CubicDerivativesMatchClosedForm) {
  const torch::Tensor x = torch::linspace(-3, 3, 25, torch::kFloat64);
  EXPECT_TRUE(AllClose(ag::derivative(ag::cubic, x, 1), 3 * x * x - 4 * x + 3, 1e-12, 1e-12));
  EXPECT_TRUE(AllClose(ag::derivative(ag::cubic, x, 2), 6 * x - 4, 1e-12, 1e-12));
  EXPECT_TRUE(AllClose(ag::derivative(ag::cubic, x, 3), torch::full_like(x, 6), 1e-12, 1e-12));
  EXPECT_TRUE(AllClose(ag::derivative(ag::cubic, x, 4), torch::zeros_like(x), 0, 0));
}

TEST_F(Autograd, GradientThroughBackwardEqualsAutogradGrad) {
  const torch::Tensor x = golden.tensor("polynomial/inputs/x");
  const torch::Tensor through_backward =
      ag::gradient([](const torch::Tensor& t) { return ag::cubic(t).sum(); }, x);
  EXPECT_TRUE(AllClose(through_backward, golden.tensor("polynomial/outputs/first")));
}

TEST_F(Autograd, TanhDerivativesMatchPythonAndClosedForm) {
  const torch::Tensor x = golden.tensor("tanh/inputs/x");
  const torch::Tensor first = ag::derivative(torch::tanh, x, 1);
  const torch::Tensor second = ag::derivative(torch::tanh, x, 2);
  const torch::Tensor third = ag::derivative(torch::tanh, x, 3);
  EXPECT_TRUE(AllClose(first, golden.tensor("tanh/outputs/first")));
  EXPECT_TRUE(AllClose(second, golden.tensor("tanh/outputs/second")));
  EXPECT_TRUE(AllClose(third, golden.tensor("tanh/outputs/third")));
  const torch::Tensor t = x.tanh();
  EXPECT_TRUE(AllClose(first, 1 - t * t, 1e-12, 1e-12));
  EXPECT_TRUE(AllClose(second, -2 * t * (1 - t * t), 1e-12, 1e-12));
}

TEST_F(Autograd, DerivativeRejectsNonElementwiseFunctionsAndBadOrders) {
  const torch::Tensor x = torch::linspace(0, 1, 4);
  EXPECT_THROW(ag::derivative([](const torch::Tensor& t) { return t.sum(); }, x, 1), c10::Error);
  EXPECT_THROW(ag::derivative(ag::cubic, x, 0), c10::Error);
  EXPECT_THROW(ag::gradient(ag::cubic, x), c10::Error);  // not a scalar function
}

TEST_F(Autograd, CallerTensorIsNotChanged) {
  const torch::Tensor x = torch::tensor({1.0, 2.0});
  ag::derivative(ag::cubic, x, 2);
  ag::gradient([](const torch::Tensor& t) { return t.sum(); }, x);
  EXPECT_FALSE(x.requires_grad());
  EXPECT_FALSE(x.grad().defined());
}

// ---- What backward() does to .grad ---------------------------------------------------------

TEST_F(Autograd, GradientsAccumulateAcrossBackwardCalls) {
  const torch::Tensor x = golden.tensor("accumulation/inputs/x");
  const int calls = static_cast<int>(golden.scalar("accumulation/inputs/calls"));
  const ag::Accumulation acc = ag::accumulate(x, calls);
  EXPECT_TRUE(AllClose(acc.after_each, golden.tensor("accumulation/outputs/after_each")));
  EXPECT_TRUE(AllClose(acc.after_zero, golden.tensor("accumulation/outputs/after_zero")));
  EXPECT_EQ(acc.defined_after_reset,
            golden.scalar("accumulation/outputs/defined_after_reset") != 0);
  EXPECT_FALSE(acc.defined_after_reset);
  EXPECT_TRUE(AllClose(acc.after_reset_and_backward,
                       golden.tensor("accumulation/outputs/after_reset_and_backward")));
  // Row k is (k + 1) times the first row: each call adds the same gradient.
  for (int k = 0; k < calls; ++k) {
    EXPECT_TRUE(AllClose(acc.after_each[k], (k + 1) * acc.after_each[0])) << "row " << k;
  }
}

TEST_F(Autograd, SecondBackwardNeedsRetainGraph) {
  const torch::Tensor x = golden.tensor("accumulation/inputs/x");
  try {
    ag::backward_twice(x, /*retain_graph=*/false);
    FAIL() << "a second backward through a freed graph should throw";
  } catch (const c10::Error& error) {
    EXPECT_NE(std::string(error.what()).find("second time"), std::string::npos) << error.what();
  }
  EXPECT_TRUE(AllClose(ag::backward_twice(x, /*retain_graph=*/true),
                       golden.tensor("accumulation/outputs/backward_twice_retained")));
}

TEST_F(Autograd, DetachStopsTheGradient) {
  const torch::Tensor x = golden.tensor("detach/inputs/x");
  const ag::DetachGrads grads = ag::detach_grads(x);
  EXPECT_TRUE(AllClose(grads.full, golden.tensor("detach/outputs/full")));
  EXPECT_TRUE(AllClose(grads.detached, golden.tensor("detach/outputs/detached")));
}

// ---- NoGradGuard versus InferenceMode ------------------------------------------------------

TEST_F(Autograd, NoGradTensorsStayUsableButInferenceTensorsDoNot) {
  const ag::ModeReport modes = ag::compare_modes();
  EXPECT_FALSE(modes.no_grad_requires_grad);
  EXPECT_FALSE(modes.no_grad_is_inference);
  EXPECT_TRUE(modes.no_grad_usable_later);
  EXPECT_FALSE(modes.inference_requires_grad);
  EXPECT_TRUE(modes.inference_is_inference);
  EXPECT_NE(modes.inference_error.find("Inference tensor"), std::string::npos)
      << modes.inference_error;
}

TEST_F(Autograd, LineStepMatchesPython) {
  const std::string in = "line_step/inputs/";
  const std::string out = "line_step/outputs/";
  const ag::LineStep step =
      ag::line_step(golden.tensor(in + "x"), golden.tensor(in + "y"), golden.scalar(in + "w"),
                    golden.scalar(in + "b"), golden.scalar(in + "lr"));
  EXPECT_TRUE(AllClose(step.loss, golden.tensor(out + "loss"), 1e-5, 1e-6));
  EXPECT_TRUE(AllClose(step.dw, golden.tensor(out + "dw"), 1e-5, 1e-6));
  EXPECT_TRUE(AllClose(step.db, golden.tensor(out + "db"), 1e-5, 1e-6));
  EXPECT_TRUE(AllClose(step.w, golden.tensor(out + "w"), 1e-5, 1e-6));
  EXPECT_TRUE(AllClose(step.b, golden.tensor(out + "b"), 1e-5, 1e-6));
  // The update was not recorded: w and b are still leaves, with zeroed gradients.
  EXPECT_TRUE(step.w.is_leaf());
  EXPECT_TRUE(step.w.requires_grad());
  EXPECT_TRUE(AllClose(step.w.grad(), torch::zeros({})));
}

TEST_F(Autograd, InPlaceUpdateOfALeafNeedsNoGradGuard) {
  const std::string message = ag::update_without_guard_error();
  EXPECT_NE(message.find("leaf Variable that requires grad"), std::string::npos) << message;
}

// ---- The custom Function -------------------------------------------------------------------

TEST_F(Autograd, CustomSoftplusMatchesPythonFunction) {
  const torch::Tensor x = golden.tensor("softplus/inputs/x");
  EXPECT_TRUE(AllClose(ag::softplus(x), golden.tensor("softplus/outputs/value")));
  EXPECT_TRUE(AllClose(ag::gradient(softplus_sum, x), golden.tensor("softplus/outputs/first")));
  EXPECT_TRUE(
      AllClose(ag::derivative(ag::softplus, x, 2), golden.tensor("softplus/outputs/second")));
}

TEST_F(Autograd, CustomSoftplusMatchesLibTorchSoftplus) {
  const torch::Tensor x = torch::linspace(-30, 30, 121);
  EXPECT_TRUE(AllClose(ag::softplus(x), torch::softplus(x), 1e-6, 1e-6));
}

TEST_F(Autograd, CustomSoftplusIsFiniteWhereTheNaiveFormulaIsNot) {
  const torch::Tensor x = torch::tensor({-20.0F, 100.0F});
  const torch::Tensor naive = ag::naive_softplus(x);
  EXPECT_EQ(naive[0].item<float>(), 0.0F);          // log(1 + 2e-9) rounds to 0 in float32
  EXPECT_TRUE(std::isinf(naive[1].item<float>()));  // e^100 overflows float32
  const torch::Tensor naive_grad =
      ag::gradient([](const torch::Tensor& t) { return ag::naive_softplus(t).sum(); }, x);
  EXPECT_TRUE(std::isnan(naive_grad[1].item<float>()));  // inf / inf

  const torch::Tensor careful = ag::softplus(x);
  EXPECT_NEAR(careful[0].item<double>(), std::exp(-20.0), 1e-3 * std::exp(-20.0));
  EXPECT_EQ(careful[1].item<float>(), 100.0F);
  EXPECT_TRUE(AllClose(ag::gradient(softplus_sum, x), torch::sigmoid(x)));
}

TEST_F(Autograd, CustomBackwardMatchesCentralDifferences) {
  const torch::Tensor x = torch::linspace(-6, 6, 25, torch::kFloat64);
  const torch::Tensor numeric = ag::numeric_gradient(softplus_sum, x, 1e-6);
  const torch::Tensor analytic = ag::gradient(softplus_sum, x);
  EXPECT_TRUE(AllClose(analytic, numeric, 0, 1e-8));
  EXPECT_TRUE(AllClose(analytic, torch::sigmoid(x), 1e-12, 1e-12));
}

TEST_F(Autograd, GradcheckPassesForTheCustomFunction) {
  const ag::GradcheckResult result =
      ag::gradcheck(ag::softplus, torch::linspace(-5, 5, 11, torch::kFloat64));
  EXPECT_TRUE(result.passed);
  EXPECT_LT(result.max_abs_error, 1e-8);
}

TEST_F(Autograd, GradcheckCatchesAWrongBackward) {
  const auto wrong = [](const torch::Tensor& x) { return WrongSoftplus::apply(x); };
  const ag::GradcheckResult result =
      ag::gradcheck(wrong, torch::linspace(-5, 5, 11, torch::kFloat64));
  EXPECT_FALSE(result.passed);
  EXPECT_GT(result.max_abs_error, 1e-3);
}

// ---- Jacobians -----------------------------------------------------------------------------

TEST_F(Autograd, JacobiansMatchPython) {
  const auto f = [](const torch::Tensor& x) { return torch::sin(torch::cumsum(x, 0)) * x; };
  const torch::Tensor x = golden.tensor("jacobian/inputs/x");
  // rtol 1e-6: the input was stored with 8 significant digits.
  EXPECT_TRUE(AllClose(ag::autograd_jacobian(f, x), golden.tensor("jacobian/outputs/autograd"),
                       1e-6, 1e-7));
  EXPECT_TRUE(
      AllClose(ag::numeric_jacobian(f, x), golden.tensor("jacobian/outputs/numeric"), 1e-6, 1e-7));
  EXPECT_TRUE(AllClose(ag::numeric_jacobian(f, x), ag::autograd_jacobian(f, x), 0, 1e-8));
}

TEST_F(Autograd, NumericJacobianRejectsABadStep) {
  EXPECT_THROW(ag::numeric_jacobian(ag::cubic, torch::ones({2}), 0.0), c10::Error);
  EXPECT_THROW(ag::numeric_gradient(ag::cubic, torch::ones({2})), c10::Error);  // not scalar
}
