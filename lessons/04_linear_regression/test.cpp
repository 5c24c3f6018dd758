// Lesson 04's tests: the very functions main.cpp defines against Python (golden.json, written by
// reference.py --golden): the features, steps of gradient descent by hand and with optim::SGD, the
// closed form, and gradient descent ending where the closed form says it should.
#define COURSE_TESTING
#include "main.cpp"

#include <gtest/gtest.h>

#include "golden.h"

using course::testing::AllClose;
using course::testing::Golden;

namespace {

class LinearRegression : public ::testing::Test {
 protected:
  void SetUp() override { torch::manual_seed(0); }
  const Golden golden_{"04_linear_regression"};
};

// A Linear(3, 1) holding the given weight (1, 3) and bias (1).
torch::nn::Linear linear_with(const torch::Tensor& weight, const torch::Tensor& bias) {
  torch::nn::Linear linear(torch::nn::LinearOptions(3, 1));
  torch::NoGradGuard no_grad;
  linear->weight.copy_(weight);
  linear->bias.copy_(bias);
  return linear;
}

// A HandModel at zero, as main() makes one.
HandModel zeros(int64_t degree) {
  const auto tracked = torch::TensorOptions().requires_grad(true);
  return {torch::zeros({degree}, tracked), torch::zeros({}, tracked)};
}

std::vector<double> to_doubles(const std::vector<torch::Tensor>& losses) {
  return values(torch::stack(losses));
}

}  // namespace

// ---- data
// ----------------------------------------------------------------------------------------

TEST_F(LinearRegression, FeaturesAndTrueCurveMatchPython) {
  const auto x = golden_.tensor("features/inputs/x");  // (5)
  const auto features = polynomial_features(x, 3);
  EXPECT_EQ(features.sizes(), (torch::IntArrayRef{5, 3}));
  EXPECT_TRUE(AllClose(features, golden_.tensor("features/outputs/features3")));
  EXPECT_TRUE(AllClose(evaluate_polynomial(true_coefficients(), x),
                       golden_.tensor("features/outputs/true_curve")));
  // x^2 is the polynomial 0 + 0 x + 1 x^2.
  EXPECT_TRUE(AllClose(evaluate_polynomial(torch::tensor({0.0F, 0.0F, 1.0F}), x),
                       features.select(/*dim=*/1, /*index=*/1)));
  EXPECT_THROW(polynomial_features(x, 0), c10::Error);
}

TEST_F(LinearRegression, PointsLieOnTheTrueCurvePlusNoise) {
  const Points points = make_points(4000, /*noise=*/0.15, torch::kCPU);
  EXPECT_EQ(points.x.sizes(), (torch::IntArrayRef{4000}));
  EXPECT_GE(points.x.min().item<double>(), -1.0);
  EXPECT_LT(points.x.max().item<double>(), 1.0);
  EXPECT_NEAR(points.x.mean().item<double>(), 0.0, 0.05);  // uniform on [-1, 1)
  const auto noise = points.y - evaluate_polynomial(true_coefficients(), points.x);
  EXPECT_NEAR(noise.mean().item<double>(), 0.0, 0.01);
  EXPECT_NEAR(noise.std().item<double>(), 0.15, 0.01);
}

// ---- way 1: by hand
// ------------------------------------------------------------------------------

TEST_F(LinearRegression, CoefficientsAreTheBiasThenTheWeights) {
  const HandModel hand{torch::tensor({2.0F, 3.0F}), torch::tensor(1.0F)};
  EXPECT_TRUE(coefficients(hand).equal(torch::tensor({1.0F, 2.0F, 3.0F})));
  const auto linear = linear_with(torch::tensor({{2.0F, 3.0F, 4.0F}}), torch::tensor({1.0F}));
  EXPECT_TRUE(coefficients(linear).equal(torch::tensor({1.0F, 2.0F, 3.0F, 4.0F})));
}

TEST_F(LinearRegression, ThreeStepsByHandMatchPython) {
  const std::string c = "hand/";
  HandModel model{golden_.tensor(c + "inputs/weight").requires_grad_(),
                  golden_.tensor(c + "inputs/bias").requires_grad_()};
  const auto features = polynomial_features(golden_.tensor(c + "inputs/x"), 3);
  const auto losses =
      fit_by_hand(model, features, golden_.tensor(c + "inputs/y"), golden_.scalar(c + "inputs/lr"),
                  static_cast<int64_t>(golden_.scalar(c + "inputs/steps")), "test");
  EXPECT_TRUE(AllClose(torch::stack(losses), golden_.tensor(c + "outputs/losses"), 1e-5, 1e-6));
  EXPECT_TRUE(AllClose(model.weight, golden_.tensor(c + "outputs/weight"), 1e-5, 1e-6));
  EXPECT_TRUE(AllClose(model.bias, golden_.tensor(c + "outputs/bias"), 1e-5, 1e-6));
  // The gradients were set back to zero, ready for the next backward(); the update left no graph.
  EXPECT_EQ(model.weight.grad().abs().max().item<float>(), 0.0F);
  EXPECT_EQ(model.bias.grad().item<float>(), 0.0F);
  EXPECT_TRUE(model.weight.is_leaf() && model.bias.is_leaf());
  EXPECT_FALSE(losses.back().requires_grad());
}

TEST_F(LinearRegression, GradientDescentByHandEndsAtTheClosedForm) {
  const std::string c = "gradient_descent/";
  const auto x = golden_.tensor(c + "inputs/x"), y = golden_.tensor(c + "inputs/y");
  HandModel model = zeros(3);
  const auto losses =
      fit_by_hand(model, polynomial_features(x, 3), y, golden_.scalar(c + "inputs/lr"),
                  static_cast<int64_t>(golden_.scalar(c + "inputs/steps")), "test");
  // Within 1e-4 of the exact answer (Python gets within 3e-6), and the same as Python's run.
  EXPECT_TRUE(AllClose(coefficients(model), closed_form(x, y, 3), 0, 1e-4));
  EXPECT_TRUE(AllClose(coefficients(model), golden_.tensor(c + "outputs/coefficients"), 0, 1e-4));
  EXPECT_NEAR(losses.back().item<double>(), golden_.scalar(c + "outputs/last_loss"), 1e-6);
  EXPECT_LT(losses.back().item<double>(), 0.1 * losses.front().item<double>());
}

TEST_F(LinearRegression, TooLargeAStepStopsWithAHint) {
  const auto x = golden_.tensor("hand/inputs/x"), y = golden_.tensor("hand/inputs/y");
  HandModel model = zeros(3);
  try {
    fit_by_hand(model, polynomial_features(x, 3), y, /*lr=*/5.0, /*steps=*/1000, "too large");
    FAIL() << "expected the loss to blow up with lr 5";
  } catch (const std::runtime_error& error) {
    EXPECT_NE(std::string(error.what()).find("of 'too large'; lower --lr"), std::string::npos)
        << error.what();
  }
}

TEST_F(LinearRegression, LogLinesAtStepsOneTenHundredAndTheLast) {
  const auto loss = torch::tensor(0.25);
  ::testing::internal::CaptureStdout();
  for (int64_t step = 1; step <= 250; ++step) log_step("fit", step, 250, loss);
  const std::string text = ::testing::internal::GetCapturedStdout();
  EXPECT_EQ(text,
            "fit                          step     1/250 | train mse 0.25000\n"
            "fit                          step    10/250 | train mse 0.25000\n"
            "fit                          step   100/250 | train mse 0.25000\n"
            "fit                          step   250/250 | train mse 0.25000\n");
}

// ---- way 2: nn::Linear + optim::SGD
// --------------------------------------------------------------

TEST_F(LinearRegression, ThreeSgdStepsMatchPython) {
  const std::string c = "sgd/";
  auto linear = linear_with(golden_.tensor(c + "inputs/weight"), golden_.tensor(c + "inputs/bias"));
  torch::optim::SGD optimizer(linear->parameters(),
                              torch::optim::SGDOptions(golden_.scalar(c + "inputs/lr")));
  const auto losses =
      fit_with_optimizer(linear, optimizer, polynomial_features(golden_.tensor(c + "inputs/x"), 3),
                         golden_.tensor(c + "inputs/y"),
                         static_cast<int64_t>(golden_.scalar(c + "inputs/steps")), "test");
  EXPECT_TRUE(AllClose(torch::stack(losses), golden_.tensor(c + "outputs/losses"), 1e-5, 1e-6));
  EXPECT_TRUE(AllClose(linear->weight, golden_.tensor(c + "outputs/weight"), 1e-5, 1e-6));
  EXPECT_TRUE(AllClose(linear->bias, golden_.tensor(c + "outputs/bias"), 1e-5, 1e-6));
  EXPECT_EQ(coefficients(linear).sizes(), (torch::IntArrayRef{4}));
}

TEST_F(LinearRegression, ByHandAndWithSgdAreTheSameUpdate) {
  // From the same (random) start, optim::SGD does exactly what fit_by_hand writes out.
  const auto x = golden_.tensor("hand/inputs/x"), y = golden_.tensor("hand/inputs/y");
  const auto features = polynomial_features(x, 3);
  torch::nn::Linear linear(torch::nn::LinearOptions(3, 1));  // seeded default init
  HandModel hand{linear->weight.detach().flatten().clone().requires_grad_(),
                 linear->bias.detach().reshape({}).clone().requires_grad_()};
  torch::optim::SGD optimizer(linear->parameters(), torch::optim::SGDOptions(0.5));
  const auto hand_losses = fit_by_hand(hand, features, y, /*lr=*/0.5, /*steps=*/5, "hand");
  const auto sgd_losses = fit_with_optimizer(linear, optimizer, features, y, /*steps=*/5, "sgd");
  EXPECT_TRUE(AllClose(coefficients(hand), coefficients(linear), 1e-5, 1e-6));
  EXPECT_TRUE(AllClose(torch::stack(hand_losses), torch::stack(sgd_losses), 1e-5, 1e-6));
  EXPECT_LT(to_doubles(sgd_losses).back(), to_doubles(sgd_losses).front());
}

// ---- way 3: the closed form
// ----------------------------------------------------------------------

TEST_F(LinearRegression, ClosedFormMatchesPython) {
  const auto x = golden_.tensor("closed_form/inputs/x"), y = golden_.tensor("closed_form/inputs/y");
  EXPECT_TRUE(
      AllClose(closed_form(x, y, 1), golden_.tensor("closed_form/outputs/degree1"), 1e-4, 1e-5));
  EXPECT_TRUE(
      AllClose(closed_form(x, y, 3), golden_.tensor("closed_form/outputs/degree3"), 1e-4, 1e-5));
  // The golden's y is the true cubic plus a wiggle of amplitude 0.1: the fit lies near the truth.
  EXPECT_TRUE(AllClose(closed_form(x, y, 3), true_coefficients(), 0, 0.1));
}

TEST_F(LinearRegression, PrintRowReturnsTheTestErrorOfTheCoefficients) {
  const Points train{golden_.tensor("hand/inputs/x"), golden_.tensor("hand/inputs/y")};
  const Points test{train.x * 0.5, train.y};
  const auto c = golden_.tensor("closed_form/outputs/degree3");
  ::testing::internal::CaptureStdout();
  const double test_mse = print_row("closed form", c, c, train, test);
  const std::string text = ::testing::internal::GetCapturedStdout();
  EXPECT_DOUBLE_EQ(test_mse, mse(evaluate_polynomial(c, test.x), test.y).item<double>());
  EXPECT_GT(test_mse, 0.1);  // the x of the "test" points was halved: a poor fit there
  EXPECT_EQ(text.rfind("  closed form   [   1.0000", 0), 0U) << text;
  EXPECT_NE(text.find("0.00e+00\n"), std::string::npos) << text;
}
