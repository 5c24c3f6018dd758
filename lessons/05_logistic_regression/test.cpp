// Tests of lesson 05: the very functions main.cpp defines (it is included below, without its
// main), against Python PyTorch's values in golden.json (written by reference.py --golden): the
// model's shapes, cross-entropy as log_softmax + nll_loss, accuracy, SGD steps with momentum, the
// learning rate of each epoch, an epoch, and evaluation in eval() mode without autograd.
#define COURSE_TESTING
#include "main.cpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "golden.h"

using course::testing::AllClose;
using course::testing::Golden;

namespace {

// Seeds the default generator before every test, so weight init and randperm repeat.
class LogisticRegression : public ::testing::Test {
 protected:
  void SetUp() override { torch::manual_seed(0); }
  const Golden golden_{"05_logistic_regression"};
};
using Training = LogisticRegression;
using Evaluation = LogisticRegression;

// A small twin of the model (20 inputs) with the golden case's weights.
SoftmaxRegression golden_model(const Golden& golden, const std::string& name) {
  const auto weight = golden.tensor(name + "/inputs/weight");  // (C, 20)
  SoftmaxRegression model(weight.size(1), weight.size(0));
  torch::NoGradGuard no_grad;
  model->linear->weight.copy_(weight);
  model->linear->bias.copy_(golden.tensor(name + "/inputs/bias"));
  return model;
}

// The Config of the golden "train_step" case: its learning rate, momentum and weight decay.
Config golden_config(const Golden& golden) {
  Config config;
  config.lr = golden.scalar("train_step/inputs/lr");
  config.momentum = golden.scalar("train_step/inputs/momentum");
  config.weight_decay = golden.scalar("train_step/inputs/weight_decay");
  return config;
}

// A module that records every train(on) call it receives (a parent's train() and eval() reach
// every child), and whether autograd was on at that moment.
struct ModeSpy : torch::nn::Module {
  void train(bool on) override {
    calls.emplace_back(on, torch::GradMode::is_enabled());
    torch::nn::Module::train(on);
  }
  std::vector<std::pair<bool, bool>> calls;  // (training, autograd on)
};

}  // namespace

// ---- the model, the loss, accuracy -------------------------------------------------------------

TEST_F(LogisticRegression, ModelMapsImagesOrRowsToTenLogits) {
  SoftmaxRegression model;
  EXPECT_EQ(model->forward(torch::zeros({4, 1, 28, 28})).sizes(), (std::vector<int64_t>{4, 10}));
  EXPECT_EQ(model->forward(torch::zeros({3, 784})).sizes(), (std::vector<int64_t>{3, 10}));
  EXPECT_EQ(model->linear->weight.sizes(), (std::vector<int64_t>{10, 784}));
  EXPECT_EQ(course::parameter_count(*model), 7850);  // 784 * 10 weights + 10 biases
  // nn::Linear's default init: everything within 1/sqrt(784).
  const double bound = 1.0 / std::sqrt(784.0);
  EXPECT_LE(model->linear->weight.abs().max().item<double>(), bound);
  EXPECT_GT(model->linear->weight.abs().max().item<double>(), 0.5 * bound);
  EXPECT_THROW(model->forward(torch::zeros({2, 1, 32, 32})), c10::Error);  // 1024 inputs
}

TEST_F(LogisticRegression, CrossEntropyIsLogSoftmaxThenNllLossAsInPython) {
  const auto logits = golden_.tensor("cross_entropy/inputs/logits");  // (6, 10)
  const auto labels = golden_.tensor("cross_entropy/inputs/labels");  // (6,)
  const double expected = golden_.scalar("cross_entropy/outputs/cross_entropy");
  EXPECT_NEAR(cross_entropy(logits, labels).item<double>(), expected, 1e-5);
  EXPECT_NEAR(F::cross_entropy(logits, labels).item<double>(), expected, 1e-5);
  EXPECT_TRUE(AllClose(torch::log_softmax(logits, /*dim=*/1),
                       golden_.tensor("cross_entropy/outputs/log_softmax"), 1e-5, 1e-5));
  // The same number by hand: the mean over rows of -log(softmax[row, label]).
  const auto probabilities = torch::softmax(logits, /*dim=*/1);
  EXPECT_TRUE(AllClose(probabilities, golden_.tensor("cross_entropy/outputs/softmax"), 1e-5, 1e-6));
  const auto picked = probabilities.gather(/*dim=*/1, labels.unsqueeze(1));  // (6, 1)
  EXPECT_NEAR((-picked.log()).mean().item<double>(), expected, 1e-5);
}

TEST_F(LogisticRegression, CountCorrectComparesTheArgmaxWithTheLabels) {
  const auto correct = count_correct(golden_.tensor("cross_entropy/inputs/logits"),
                                     golden_.tensor("cross_entropy/inputs/labels"));
  EXPECT_EQ(correct.scalar_type(), torch::kInt64);
  EXPECT_EQ(correct.dim(), 0);
  EXPECT_EQ(correct.item<int64_t>(), 4);
  EXPECT_EQ(correct.item<int64_t>(),
            static_cast<int64_t>(golden_.scalar("cross_entropy/outputs/correct")));
}

// ---- training ----------------------------------------------------------------------------------

TEST_F(Training, ThreeSgdStepsWithMomentumMatchPython) {
  const std::string in = "train_step/inputs/", out = "train_step/outputs/";
  auto model = golden_model(golden_, "train_step");
  auto optimizer = make_optimizer(model, golden_config(golden_));
  const auto images = golden_.tensor(in + "images");  // (12, 20)
  const auto labels = golden_.tensor(in + "labels");  // (12,)
  const auto steps = static_cast<int64_t>(golden_.scalar(in + "steps"));
  std::vector<double> losses;
  for (int64_t step = 1; step <= steps; ++step) {
    const StepResult result = train_step(model, optimizer, images, labels);
    EXPECT_FALSE(result.loss.requires_grad());
    losses.push_back(result.loss.item<double>());
    if (step == 1) {  // the loss before the update, then plain SGD (no momentum yet)
      EXPECT_TRUE(AllClose(result.logits, golden_.tensor(out + "logits_1"), 1e-5, 1e-6));
      EXPECT_TRUE(AllClose(model->linear->weight, golden_.tensor(out + "weight_1"), 1e-5, 1e-7));
      EXPECT_TRUE(AllClose(model->linear->bias, golden_.tensor(out + "bias_1"), 1e-5, 1e-7));
    }
  }
  // After step 3 the momentum has been used twice, and the gradients were cleared each step.
  EXPECT_TRUE(AllClose(model->linear->weight, golden_.tensor(out + "weight_3"), 1e-5, 1e-7));
  EXPECT_TRUE(AllClose(model->linear->bias, golden_.tensor(out + "bias_3"), 1e-5, 1e-7));
  EXPECT_TRUE(
      AllClose(torch::tensor(losses, torch::kFloat32), golden_.tensor(out + "losses"), 1e-5, 1e-6));
}

TEST_F(Training, LossFallsOverTwentyStepsOnAFixedBatch) {
  // 64 "images" without a random stream: row i is a sine wave of its own frequency.
  const auto row = torch::arange(64, torch::kFloat32).unsqueeze(1);      // (64, 1)
  const auto column = torch::arange(784, torch::kFloat32).unsqueeze(0);  // (1, 784)
  const auto images = torch::sin(0.013 * (row + 1) * column + row).reshape({64, 1, 28, 28});
  const auto labels = torch::arange(64) % 10;
  SoftmaxRegression model;
  auto optimizer = make_optimizer(model, Config{});  // the lesson's own settings
  std::vector<double> losses;
  for (int step = 0; step < 20; ++step) {
    losses.push_back(train_step(model, optimizer, images, labels).loss.item<double>());
  }
  EXPECT_GT(losses.front(), 1.5);  // about ln(10) = 2.3 at the start
  EXPECT_LT(losses.back(), 0.1 * losses.front()) << losses.front() << " -> " << losses.back();
}

TEST_F(Training, TheLearningRateHalvesEveryEpochAsPythonsStepLR) {
  Config config;
  config.lr = golden_.scalar("schedule/inputs/lr");
  config.lr_decay = golden_.scalar("schedule/inputs/lr_decay");
  const auto expected = golden_.tensor("schedule/outputs/lr");  // epochs 1..6
  ASSERT_EQ(expected.size(0), kEpochs);
  for (int epoch = 1; epoch <= kEpochs; ++epoch) {
    EXPECT_NEAR(epoch_lr(config, epoch), expected[epoch - 1].item<double>(), 1e-12) << epoch;
  }
}

TEST_F(Training, AnEpochSetsItsLearningRateAndTrainsInTrainMode) {
  Data data;
  data.x_train = torch::sin(torch::arange(20 * 784, torch::kFloat32)).reshape({20, 1, 28, 28});
  data.y_train = torch::arange(20) % 10;
  Config config;
  config.batch_size = 8;  // 3 steps: 8 + 8 + 4
  SoftmaxRegression model;
  model->eval();  // as a careless caller might leave it
  auto optimizer = make_optimizer(model, config);
  const Score score = train_epoch(model, optimizer, data, config, /*epoch=*/3, /*epochs=*/6);
  EXPECT_TRUE(model->is_training());
  EXPECT_DOUBLE_EQ(optimizer.param_groups()[0].options().get_lr(), 0.02 * 0.5 * 0.5);
  EXPECT_GT(score.loss, 1.0);  // an untrained model: about ln(10)
  EXPECT_LT(score.loss, 5.0);
  EXPECT_GE(score.accuracy, 0.0);
  EXPECT_LE(score.accuracy, 1.0);
}

TEST_F(Training, AnEpochOfOneBatchIsOneStepAsInPython) {
  // One batch holds every row: the order does not matter, so the epoch is the golden's step 1.
  const std::string in = "train_step/inputs/", out = "train_step/outputs/";
  Data data;
  data.x_train = golden_.tensor(in + "images");  // (12, 20)
  data.y_train = golden_.tensor(in + "labels");
  Config config = golden_config(golden_);
  config.batch_size = 12;
  auto model = golden_model(golden_, "train_step");
  auto optimizer = make_optimizer(model, config);
  const Score score = train_epoch(model, optimizer, data, config, /*epoch=*/1, /*epochs=*/1);
  EXPECT_TRUE(AllClose(model->linear->weight, golden_.tensor(out + "weight_1"), 1e-5, 1e-7));
  EXPECT_NEAR(score.loss, golden_.tensor(out + "losses")[0].item<double>(), 1e-5);
  const auto correct = count_correct(golden_.tensor(out + "logits_1"), data.y_train);
  EXPECT_DOUBLE_EQ(score.accuracy, correct.item<double>() / 12.0);
}

TEST_F(Training, AnEpochVisitsTheRowsInANewRandpermOrderAndWeighsEveryRowOnce) {
  const std::string in = "train_step/inputs/";
  Data data;
  data.x_train = golden_.tensor(in + "images");  // (12, 20)
  data.y_train = golden_.tensor(in + "labels");
  Config config = golden_config(golden_);
  config.batch_size = 5;  // 5 + 5 + 2
  auto model = golden_model(golden_, "train_step");
  auto optimizer = make_optimizer(model, config);
  torch::manual_seed(7);
  const Score score = train_epoch(model, optimizer, data, config, /*epoch=*/1, /*epochs=*/1);

  // The same epoch by hand, in the order torch::randperm gives after the same seed.
  auto twin = golden_model(golden_, "train_step");
  auto twin_optimizer = make_optimizer(twin, config);
  torch::manual_seed(7);
  const auto order = torch::randperm(12, torch::kInt64);
  ASSERT_FALSE(torch::equal(order, torch::arange(12)));
  double loss_sum = 0;
  for (const auto& index : order.split(5)) {
    const auto result = train_step(twin, twin_optimizer, data.x_train.index_select(0, index),
                                   data.y_train.index_select(0, index));
    loss_sum += result.loss.item<double>() * static_cast<double>(index.size(0));
  }
  EXPECT_TRUE(AllClose(model->linear->weight, twin->linear->weight, 1e-6, 1e-8));
  EXPECT_NEAR(score.loss, loss_sum / 12.0, 1e-6);  // a mean over rows, not over batches
}

// ---- evaluation --------------------------------------------------------------------------------

TEST_F(Evaluation, MatchesPython) {
  auto model = golden_model(golden_, "evaluate");
  const Score score = evaluate(model, golden_.tensor("evaluate/inputs/images"),
                               golden_.tensor("evaluate/inputs/labels"));
  EXPECT_NEAR(score.loss, golden_.scalar("evaluate/outputs/loss"), 1e-5);
  EXPECT_NEAR(score.accuracy, golden_.scalar("evaluate/outputs/accuracy"), 1e-7);
  EXPECT_DOUBLE_EQ(score.accuracy, 15.0 / 23.0);
}

TEST_F(Evaluation, RunsInEvalModeWithoutAutogradAndHandsTheModeBack) {
  auto model = golden_model(golden_, "evaluate");
  const auto images = golden_.tensor("evaluate/inputs/images");
  const auto labels = golden_.tensor("evaluate/inputs/labels");
  auto spy = model->register_module("spy", std::make_shared<ModeSpy>());
  for (const bool training : {true, false}) {
    model->train(training);
    spy->calls.clear();
    evaluate(model, images, labels);
    ASSERT_FALSE(spy->calls.empty()) << "evaluate never called model->eval()";
    // First eval(), with autograd already off (no graph is built for the forward passes) ...
    EXPECT_EQ(spy->calls.front(), std::make_pair(false, false));
    // ... and at the end the mode the model came in with.
    EXPECT_EQ(model->is_training(), training);
    EXPECT_EQ(spy->is_training(), training);
  }
  EXPECT_TRUE(torch::GradMode::is_enabled());  // the guard switched autograd back on
  EXPECT_FALSE(model->linear->weight.grad().defined());
}

TEST_F(Evaluation, CountsEverySampleOnceAcrossBatches) {
  // 1200 rows: a batch of 1000 (kEvalBatch) and a short one of 200.
  auto model = golden_model(golden_, "evaluate");
  const auto images =
      torch::cos(0.011 * torch::arange(1200 * 20, torch::kFloat32)).reshape({1200, 20});
  const auto labels = torch::arange(1200) % 10;
  const Score all = evaluate(model, images, labels);
  torch::NoGradGuard no_grad;
  const auto logits = model->forward(images);  // (1200, C) in one pass
  EXPECT_NEAR(all.loss, F::cross_entropy(logits, labels).item<double>(), 1e-5);
  EXPECT_DOUBLE_EQ(all.accuracy, count_correct(logits, labels).item<double>() / 1200.0);
  EXPECT_THROW(evaluate(model, images.slice(0, 0, 0), labels.slice(0, 0, 0)), c10::Error);
  EXPECT_THROW(evaluate(model, images, labels.slice(0, 0, 10)), c10::Error);
}

// ---- the picture of the weights -----------------------------------------------------------------

TEST_F(LogisticRegression, WeightImagesAreOnePicturePerClassInZeroToOne) {
  SoftmaxRegression model;
  const auto images = weight_images(model);
  EXPECT_EQ(images.sizes(), (std::vector<int64_t>{10, 28, 28}));
  // Each class spans 0..1 on its own, and pixel k of picture c is weight (c, k).
  EXPECT_TRUE(AllClose(images.flatten(1).amax(1), torch::ones({10}), 0, 1e-6));
  EXPECT_TRUE(AllClose(images.flatten(1).amin(1), torch::zeros({10}), 0, 1e-6));
  const auto weight = model->linear->weight.detach();
  const auto expected = (weight[3] - weight[3].min()) / (weight[3].max() - weight[3].min());
  EXPECT_TRUE(AllClose(images[3].flatten(), expected, 1e-5, 1e-6));
}
