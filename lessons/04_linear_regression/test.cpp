// Tests of lesson 04: features and model shapes, one gradient step by hand and one with
// nn::Linear + optim::SGD against Python, the closed form against Python, and gradient descent
// ending where the closed form says it should.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <stdexcept>

#include "golden.h"
#include "linear_regression.h"

namespace lr = course::linear_regression;
using course::testing::AllClose;
using course::testing::Golden;

namespace {

class LinearRegression : public ::testing::Test {
 protected:
  void SetUp() override { torch::manual_seed(0); }
  Golden golden{"04_linear_regression"};
};

}  // namespace

TEST_F(LinearRegression, FeaturesAndTrueCurveMatchPython) {
  const auto x = golden.tensor("features/inputs/x");  // (5)
  const auto features = lr::polynomial_features(x, 3);
  EXPECT_EQ(features.sizes(), (torch::IntArrayRef{5, 3}));
  EXPECT_TRUE(AllClose(features, golden.tensor("features/outputs/features3")));
  EXPECT_TRUE(AllClose(lr::true_curve(x), golden.tensor("features/outputs/true_curve")));
  // evaluate_polynomial with the features' own coefficients: x^2 is 0 + 0 x + 1 x^2.
  EXPECT_TRUE(AllClose(lr::evaluate_polynomial(torch::tensor({0.0F, 0.0F, 1.0F}), x),
                       features.select(/*dim=*/1, /*index=*/1)));
}

TEST_F(LinearRegression, ModelsMapNPointsToNPredictions) {
  const auto x = torch::linspace(-1, 1, /*steps=*/7);  // (7)
  lr::PolynomialRegression model(3);
  EXPECT_EQ(model->forward(x).sizes(), (torch::IntArrayRef{7}));
  EXPECT_EQ(model->linear->weight.sizes(), (torch::IntArrayRef{1, 3}));
  EXPECT_EQ(lr::coefficients(model).sizes(), (torch::IntArrayRef{4}));

  const lr::HandModel hand = lr::make_hand_model(3);
  EXPECT_TRUE(hand.weight.requires_grad());
  EXPECT_EQ(hand.forward(x).sizes(), (torch::IntArrayRef{7}));
  EXPECT_TRUE(AllClose(hand.forward(x), torch::zeros({7})));  // starts at zero
  EXPECT_EQ(lr::coefficients(hand).sizes(), (torch::IntArrayRef{4}));
}

TEST_F(LinearRegression, BadDegreeSaysWhatToUse) {
  try {
    lr::PolynomialRegression model(0);
    FAIL() << "expected an error for degree 0";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("from 1 (a line)"), std::string::npos) << e.what();
  }
  EXPECT_THROW(lr::make_hand_model(11), std::invalid_argument);
}

TEST_F(LinearRegression, HandStepMatchesPython) {
  const std::string c = "hand_step/";
  lr::HandModel model{golden.tensor(c + "inputs/weight").requires_grad_(),
                      golden.tensor(c + "inputs/bias").requires_grad_()};
  const auto loss = lr::hand_step(model, golden.tensor(c + "inputs/x"),
                                  golden.tensor(c + "inputs/y"), golden.scalar(c + "inputs/lr"));
  EXPECT_NEAR(loss.item<double>(), golden.scalar(c + "outputs/loss"), 1e-5);
  EXPECT_TRUE(AllClose(model.weight, golden.tensor(c + "outputs/weight"), 1e-5, 1e-6));
  EXPECT_TRUE(AllClose(model.bias, golden.tensor(c + "outputs/bias"), 1e-5, 1e-6));
  // The gradients were set back to zero, ready for the next backward().
  EXPECT_EQ(model.weight.grad().abs().max().item<float>(), 0.0F);
  EXPECT_EQ(model.bias.grad().item<float>(), 0.0F);
}

TEST_F(LinearRegression, SgdStepMatchesPython) {
  const std::string c = "sgd_step/";
  lr::PolynomialRegression model(3);
  {
    torch::NoGradGuard no_grad;
    model->linear->weight.copy_(golden.tensor(c + "inputs/weight"));  // (1, 3)
    model->linear->bias.copy_(golden.tensor(c + "inputs/bias"));      // (1)
  }
  torch::optim::SGD optimizer(model->parameters(),
                              torch::optim::SGDOptions(golden.scalar(c + "inputs/lr")));
  const auto loss =
      lr::sgd_step(model, optimizer, golden.tensor(c + "inputs/x"), golden.tensor(c + "inputs/y"));
  EXPECT_NEAR(loss.item<double>(), golden.scalar(c + "outputs/loss"), 1e-5);
  EXPECT_TRUE(AllClose(model->linear->weight, golden.tensor(c + "outputs/weight"), 1e-5, 1e-6));
  EXPECT_TRUE(AllClose(model->linear->bias, golden.tensor(c + "outputs/bias"), 1e-5, 1e-6));
}

TEST_F(LinearRegression, HandStepAndSgdStepAreTheSameUpdate) {
  // From the same start, optim::SGD does exactly what hand_step writes out.
  const auto x = golden.tensor("hand_step/inputs/x"), y = golden.tensor("hand_step/inputs/y");
  lr::PolynomialRegression model(3);
  lr::HandModel hand{model->linear->weight.detach().flatten().clone().requires_grad_(),
                     model->linear->bias.detach().reshape({}).clone().requires_grad_()};
  torch::optim::SGD optimizer(model->parameters(), torch::optim::SGDOptions(0.5));
  for (int step = 0; step < 5; ++step) {
    lr::hand_step(hand, x, y, /*lr=*/0.5);
    lr::sgd_step(model, optimizer, x, y);
  }
  EXPECT_TRUE(AllClose(lr::coefficients(hand), lr::coefficients(model), 1e-5, 1e-6));
}

TEST_F(LinearRegression, ClosedFormMatchesPython) {
  const auto x = golden.tensor("closed_form/inputs/x"), y = golden.tensor("closed_form/inputs/y");
  EXPECT_TRUE(
      AllClose(lr::closed_form(x, y, 1), golden.tensor("closed_form/outputs/degree1"), 1e-4, 1e-5));
  EXPECT_TRUE(
      AllClose(lr::closed_form(x, y, 3), golden.tensor("closed_form/outputs/degree3"), 1e-4, 1e-5));
  // Sanity: the y of the golden is the true cubic plus a wiggle of amplitude 0.1, so the fitted
  // cubic lies near the true coefficients.
  EXPECT_TRUE(AllClose(lr::closed_form(x, y, 3), lr::true_coefficients(), 0, 0.1));
}

TEST_F(LinearRegression, GradientDescentConvergesToClosedForm) {
  const std::string c = "gradient_descent/";
  const auto x = golden.tensor(c + "inputs/x"), y = golden.tensor(c + "inputs/y");
  const auto steps = static_cast<int64_t>(golden.scalar(c + "inputs/steps"));
  lr::HandModel model = lr::make_hand_model(3);
  torch::Tensor loss;
  for (int64_t step = 0; step < steps; ++step) {
    loss = lr::hand_step(model, x, y, golden.scalar(c + "inputs/lr"));
  }
  const auto exact = lr::closed_form(x, y, 3);
  // Within 1e-4 of the exact answer (Python gets within 3e-6), and the same as Python's run.
  EXPECT_TRUE(AllClose(lr::coefficients(model), exact, 0, 1e-4));
  EXPECT_TRUE(
      AllClose(lr::coefficients(model), golden.tensor(c + "outputs/coefficients"), 0, 1e-4));
  EXPECT_NEAR(loss.item<double>(), golden.scalar(c + "outputs/last_loss"), 1e-6);
}

TEST_F(LinearRegression, SgdLossDecreasesOnAFixedBatch) {
  const auto x = golden.tensor("hand_step/inputs/x"), y = golden.tensor("hand_step/inputs/y");
  lr::PolynomialRegression model(3);  // seeded random start
  torch::optim::SGD optimizer(model->parameters(), torch::optim::SGDOptions(0.5));
  const double first = lr::sgd_step(model, optimizer, x, y).item<double>();
  double last = first;
  for (int step = 1; step < 20; ++step) last = lr::sgd_step(model, optimizer, x, y).item<double>();
  EXPECT_LT(last, 0.5 * first) << "20 steps of SGD should at least halve the loss";
}
