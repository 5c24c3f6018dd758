// Grades lesson 07's exercises against exercises/golden.json (written by exercises/golden.py).
// cmake/CourseExercises.cmake compiles this file twice: with the learner's exercise files on the
// include path, and with exercises/solutions/ instead. One test suite per exercise: Ex07_1, ...
#include <gtest/gtest.h>

#include <string>

#include "07.1_dropout_forward.cpp"
#include "07.2_evaluate.cpp"
#include "golden.h"

using course::testing::AllClose;
using course::testing::Golden;

namespace {
const Golden& golden() {
  static const Golden file("07_mlp/exercises");
  return file;
}

// Copies Python's weights ("fc1.weight", "layers.0.bias", ...) into a module.
void load_weights(torch::nn::Module& module, const std::string& prefix) {
  torch::NoGradGuard no_grad;
  for (auto& item : module.named_parameters()) {
    item.value().copy_(golden().tensor(prefix + item.key()));
  }
}

DropoutMlp golden_mlp() {
  DropoutMlp model(6, 16, 3, /*p=*/0.5);
  load_weights(*model, "dropout_forward/inputs/");
  return model;
}
}  // namespace

TEST(Ex07_1, EvalModeMatchesPython) {
  DropoutMlp model = golden_mlp();
  model->eval();
  const auto images = golden().tensor("dropout_forward/inputs/images");  // (3, 1, 2, 3)
  const auto logits = model->forward(images);
  EXPECT_TRUE(AllClose(logits, golden().tensor("dropout_forward/outputs/logits")))
      << "in eval() mode forward(x) should be fc2(relu(fc1(x.flatten(1)))): dropout does nothing "
         "there, so the logits equal Python's with the same weights";
}

TEST(Ex07_1, TrainModeDropsUnits) {
  DropoutMlp model = golden_mlp();
  const auto images = golden().tensor("dropout_forward/inputs/images");
  model->eval();
  const auto evaluated = model->forward(images);
  model->train();
  torch::manual_seed(0);
  const auto trained = model->forward(images);
  EXPECT_FALSE(torch::allclose(trained, evaluated))
      << "in train() mode dropout (p = 0.5) should zero some hidden units, so the logits differ "
         "from eval() mode's";
  model->eval();
  EXPECT_TRUE(torch::equal(model->forward(images), evaluated))
      << "in eval() mode two calls should give the same logits: nothing random there";
}

TEST(Ex07_2, LossAndAccuracyMatchPython) {
  course::Mlp model(course::MlpOptions(6, {8}, 3).dropout(0.5));  // 6 -> 8 -> 3, as in Python
  load_weights(*model, "evaluate/inputs/");
  const auto x = golden().tensor("evaluate/inputs/x");  // (10, 6)
  const auto y = golden().tensor("evaluate/inputs/y");  // (10,)
  const auto batch_size = static_cast<int64_t>(golden().scalar("evaluate/inputs/batch_size"));
  const EvalScore score = evaluate_in_batches(model, x, y, batch_size);
  EXPECT_NEAR(score.loss, golden().scalar("evaluate/outputs/loss"), 1e-5)
      << "the loss should be the mean cross-entropy over all 10 samples, with dropout off "
         "(eval()); batches of 4, 4 and 2: add up each batch's summed loss, divide by 10 once";
  EXPECT_NEAR(score.accuracy, golden().scalar("evaluate/outputs/accuracy"), 1e-9)
      << "the accuracy should be the fraction of the 10 rows whose largest logit is the label";
}

TEST(Ex07_2, DropoutOffAndTrainModeAfterwards) {
  course::Mlp model(course::MlpOptions(6, {8}, 3).dropout(0.9));  // dropout changes everything
  load_weights(*model, "evaluate/inputs/");
  const auto x = golden().tensor("evaluate/inputs/x");
  const auto y = golden().tensor("evaluate/inputs/y");
  model->train();
  const EvalScore first = evaluate_in_batches(model, x, y, 3);
  EXPECT_NEAR(first.loss, golden().scalar("evaluate/outputs/loss"), 1e-5)
      << "with dropout 0.9 the loss should still be eval() mode's: call model->eval() first "
         "(and any batch size, 3 here, gives the same mean over the samples)";
  EXPECT_TRUE(model->is_training())
      << "evaluate_in_batches should hand the model back in train() mode (model->train())";
  EXPECT_GT(first.loss, 0.0) << "a cross-entropy loss is positive";
}
