// Tests of lesson 05 (softmax regression): each function against the values Python PyTorch
// computed in lessons/05_logistic_regression/reference.py --golden.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "course/schedule.h"
#include "golden.h"
#include "logistic_regression.h"

namespace logistic = course::logistic_regression;
namespace F = torch::nn::functional;
using course::testing::AllClose;
using course::testing::Golden;

namespace {

// Seeds LibTorch before each test, so nothing depends on test order.
class LogisticRegression : public ::testing::Test {
 protected:
  void SetUp() override { torch::manual_seed(0); }
  const Golden golden_{"05_logistic_regression"};
};

// A model with the golden's weights.
logistic::SoftmaxRegression model_from(const Golden& golden, const std::string& name) {
  const torch::Tensor weight = golden.tensor(name + "/inputs/weight");  // (C, in_features)
  logistic::SoftmaxRegression model(weight.size(1), weight.size(0));
  torch::NoGradGuard no_grad;
  model->linear->weight.copy_(weight);
  model->linear->bias.copy_(golden.tensor(name + "/inputs/bias"));
  return model;
}

}  // namespace

TEST_F(LogisticRegression, ModelMapsImagesAndRowsToTenLogits) {
  logistic::SoftmaxRegression model;
  EXPECT_EQ(model->forward(torch::zeros({4, 28, 28})).sizes(), (std::vector<int64_t>{4, 10}));
  EXPECT_EQ(model->forward(torch::zeros({3, 784})).sizes(), (std::vector<int64_t>{3, 10}));
  EXPECT_EQ(model->linear->weight.sizes(), (std::vector<int64_t>{10, 784}));
  EXPECT_EQ(model->parameters().size(), 2u);  // weight and bias, both learned
  // nn::Linear's default init: everything within 1/sqrt(784).
  const double bound = 1.0 / std::sqrt(784.0);
  EXPECT_LE(model->linear->weight.abs().max().item<double>(), bound);
  EXPECT_GT(model->linear->weight.abs().max().item<double>(), 0.5 * bound);
}

TEST_F(LogisticRegression, ModelRejectsWrongInputSizeWithAClearMessage) {
  logistic::SoftmaxRegression model;
  try {
    model->forward(torch::zeros({2, 32, 32}));
    FAIL() << "expected an error for 32x32 images";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what_without_backtrace()).find("expects 784 inputs"), std::string::npos)
        << e.what_without_backtrace();
  }
}

TEST_F(LogisticRegression, PrepareImagesMatchesPython) {
  const torch::Tensor images = golden_.tensor("prepare_images/inputs/images");
  ASSERT_EQ(images.scalar_type(), torch::kUInt8);
  const torch::Tensor inputs = logistic::prepare_images(images);
  EXPECT_EQ(inputs.sizes(), (std::vector<int64_t>{3, 784}));
  EXPECT_TRUE(AllClose(inputs, golden_.tensor("prepare_images/outputs/inputs"), 1e-5, 1e-5));
  // Black pixels (0) become -mean/std; white (255) become (1 - mean)/std.
  const torch::Tensor corners = logistic::prepare_images(
      torch::tensor({0, 255}, torch::kUInt8).repeat({392}).reshape({1, 28, 28}));
  EXPECT_NEAR(corners[0][0].item<double>(), -0.2860 / 0.3530, 1e-5);
  EXPECT_NEAR(corners[0][1].item<double>(), (1.0 - 0.2860) / 0.3530, 1e-5);
}

TEST_F(LogisticRegression, CrossEntropyIsLogSoftmaxThenNllLoss) {
  const torch::Tensor logits = golden_.tensor("cross_entropy/inputs/logits");    // (6, 10)
  const torch::Tensor targets = golden_.tensor("cross_entropy/inputs/targets");  // (6,)
  const double expected = golden_.scalar("cross_entropy/outputs/cross_entropy");
  EXPECT_NEAR(logistic::cross_entropy_two_steps(logits, targets).item<double>(), expected, 1e-5);
  EXPECT_NEAR(F::cross_entropy(logits, targets).item<double>(), expected, 1e-5);
  EXPECT_TRUE(AllClose(torch::log_softmax(logits, /*dim=*/1),
                       golden_.tensor("cross_entropy/outputs/log_softmax"), 1e-5, 1e-5));
  // The same number by hand: mean over rows of -log(softmax[row, target]).
  const torch::Tensor probabilities = torch::softmax(logits, /*dim=*/1);
  EXPECT_TRUE(AllClose(probabilities, golden_.tensor("cross_entropy/outputs/softmax"), 1e-5, 1e-6));
  EXPECT_TRUE(AllClose(probabilities.sum(/*dim=*/1), torch::ones({6}), 1e-5, 1e-6));
  const torch::Tensor picked = probabilities.gather(/*dim=*/1, targets.unsqueeze(1));  // (6, 1)
  EXPECT_NEAR((-picked.log()).mean().item<double>(), expected, 1e-5);
}

TEST_F(LogisticRegression, CountCorrectComparesArgmaxWithTargets) {
  const torch::Tensor logits = golden_.tensor("cross_entropy/inputs/logits");
  const torch::Tensor targets = golden_.tensor("cross_entropy/inputs/targets");
  const torch::Tensor correct = logistic::count_correct(logits, targets);
  EXPECT_EQ(correct.scalar_type(), torch::kLong);
  EXPECT_EQ(correct.item<int64_t>(),
            static_cast<int64_t>(golden_.scalar("cross_entropy/outputs/correct")));
  EXPECT_EQ(correct.item<int64_t>(), 4);
}

TEST_F(LogisticRegression, TrainStepsMatchPython) {
  const std::string in = "train_step/inputs/", out = "train_step/outputs/";
  logistic::SoftmaxRegression model = model_from(golden_, "train_step");
  torch::optim::SGD optimizer(model->parameters(),
                              torch::optim::SGDOptions(golden_.scalar(in + "learning_rate"))
                                  .momentum(golden_.scalar(in + "momentum"))
                                  .weight_decay(golden_.scalar(in + "weight_decay")));
  const torch::Tensor inputs = golden_.tensor(in + "inputs");    // (12, 20)
  const torch::Tensor targets = golden_.tensor(in + "targets");  // (12,)
  const torch::Tensor expected_losses = golden_.tensor(out + "losses");
  const auto steps = static_cast<int64_t>(golden_.scalar(in + "steps"));
  ASSERT_EQ(expected_losses.size(0), steps);

  std::vector<double> losses;
  for (int64_t step = 1; step <= steps; ++step) {
    const logistic::StepResult result = logistic::train_step(model, optimizer, inputs, targets);
    EXPECT_FALSE(result.loss.requires_grad());
    losses.push_back(result.loss.item<double>());
    if (step == 1) {
      // Step 1: the loss before the update, and plain SGD (the momentum buffer starts empty).
      EXPECT_TRUE(AllClose(result.logits, golden_.tensor(out + "logits_1"), 1e-5, 1e-6));
      EXPECT_TRUE(AllClose(model->linear->weight, golden_.tensor(out + "weight_1"), 1e-5, 1e-6));
      EXPECT_TRUE(AllClose(model->linear->bias, golden_.tensor(out + "bias_1"), 1e-5, 1e-6));
    }
  }
  // After step 3 the momentum has been used twice.
  EXPECT_TRUE(AllClose(model->linear->weight, golden_.tensor(out + "weight_3"), 1e-4, 1e-6));
  EXPECT_TRUE(AllClose(model->linear->bias, golden_.tensor(out + "bias_3"), 1e-4, 1e-6));
  EXPECT_TRUE(AllClose(torch::tensor(losses, torch::kFloat32), expected_losses, 1e-5, 1e-6));
}

TEST_F(LogisticRegression, LossFallsOverTwentyStepsOnAFixedBatch) {
  // A fixed batch of 64 "images" (no random stream): row i is a sine wave of its own frequency,
  // so the rows are far from each other and 10 labels can be learned. The lesson's optimizer.
  const torch::Tensor row = torch::arange(64, torch::kFloat32).unsqueeze(1);      // (64, 1)
  const torch::Tensor column = torch::arange(784, torch::kFloat32).unsqueeze(0);  // (1, 784)
  const torch::Tensor inputs = torch::sin(0.013 * (row + 1) * column + row);      // (64, 784)
  const torch::Tensor targets = torch::arange(64, torch::kLong).remainder(10);
  logistic::SoftmaxRegression model;  // seeded init (SetUp)
  torch::optim::SGD optimizer(model->parameters(),
                              torch::optim::SGDOptions(0.02).momentum(0.9).weight_decay(1e-4));
  std::vector<double> losses;
  for (int step = 0; step < 20; ++step) {
    losses.push_back(logistic::train_step(model, optimizer, inputs, targets).loss.item<double>());
  }
  ASSERT_TRUE(std::isfinite(losses.back()));
  EXPECT_LT(losses.back(), 0.1 * losses.front())
      << "first loss " << losses.front() << ", last loss " << losses.back();
}

TEST_F(LogisticRegression, EvaluateInBatchesMatchesPython) {
  logistic::SoftmaxRegression model = model_from(golden_, "evaluate");
  const torch::Tensor inputs = golden_.tensor("evaluate/inputs/inputs");    // (23, 20)
  const torch::Tensor targets = golden_.tensor("evaluate/inputs/targets");  // (23,)
  const auto batch_size = static_cast<int64_t>(golden_.scalar("evaluate/inputs/batch_size"));
  const double expected_loss = golden_.scalar("evaluate/outputs/loss");
  const double expected_accuracy = golden_.scalar("evaluate/outputs/accuracy");

  const logistic::Evaluation batched = logistic::evaluate(model, inputs, targets, batch_size);
  EXPECT_NEAR(batched.loss, expected_loss, 1e-5);
  EXPECT_NEAR(batched.accuracy, expected_accuracy, 1e-7);  // the golden keeps 8 digits
  EXPECT_DOUBLE_EQ(batched.accuracy, 15.0 / 23.0);
  // Batch size must not change the answer, even when it does not divide 23.
  for (int64_t size : {1, 4, 23, 100}) {
    const logistic::Evaluation other = logistic::evaluate(model, inputs, targets, size);
    EXPECT_NEAR(other.loss, expected_loss, 1e-5) << "batch size " << size;
    EXPECT_DOUBLE_EQ(other.accuracy, 15.0 / 23.0) << "batch size " << size;
  }
  EXPECT_TRUE(model->is_training());  // evaluate puts the mode back
  EXPECT_THROW(logistic::evaluate(model, inputs, targets, 0), c10::Error);
}

TEST_F(LogisticRegression, SetLearningRateChangesEveryGroup) {
  logistic::SoftmaxRegression model;
  torch::optim::SGD optimizer(model->parameters(), torch::optim::SGDOptions(0.02));
  course::set_lr(optimizer, 0.005);
  for (auto& group : optimizer.param_groups()) EXPECT_DOUBLE_EQ(group.options().get_lr(), 0.005);
  // One step with lr 0.005 moves the bias by exactly -0.005 * gradient.
  const torch::Tensor before = model->linear->bias.detach().clone();
  logistic::train_step(model, optimizer, torch::ones({2, 784}), torch::tensor({1, 2}));
  const torch::Tensor gradient = model->linear->bias.grad();
  EXPECT_TRUE(AllClose(model->linear->bias, before - 0.005 * gradient, 1e-5, 1e-7));
}

TEST_F(LogisticRegression, WeightImagesAreOnePicturePerClassInZeroToOne) {
  logistic::SoftmaxRegression model;
  const torch::Tensor images = logistic::weight_images(model);
  EXPECT_EQ(images.sizes(), (std::vector<int64_t>{10, 28, 28}));
  EXPECT_NEAR(images.min().item<double>(), 0.0, 1e-6);
  EXPECT_NEAR(images.max().item<double>(), 1.0, 1e-6);
  // Each class spans 0..1 on its own.
  EXPECT_TRUE(AllClose(images.flatten(1).amax(1), torch::ones({10}), 0, 1e-6));
  EXPECT_TRUE(AllClose(images.flatten(1).amin(1), torch::zeros({10}), 0, 1e-6));
}
