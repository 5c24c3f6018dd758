// Tests of lesson 08 (lessons/08_cnn/cnn.h): the CNN's output shapes, one Adam step against
// Python PyTorch, the loss falling on a fixed batch, batch norm and dropout in train() and eval(),
// the confusion matrix, the cosine schedule, normalisation, flips and the two pictures.
// Golden values: tests/golden/08_cnn.json, written by lessons/08_cnn/reference.py --golden.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <opencv2/imgcodecs.hpp>

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "cnn.h"
#include "course/fashion_mnist.h"
#include "course/schedule.h"
#include "golden.h"
#include "scratch_dir.h"

namespace cnn = course::cnn;
namespace fs = std::filesystem;
using course::testing::AllClose;
using course::testing::Golden;

namespace {

// Seeds the default generator before every test, so weight init and dropout repeat.
class Cnn : public ::testing::Test {
 protected:
  void SetUp() override { torch::manual_seed(0); }
};
using BatchNorm = Cnn;

// A fresh empty folder per test (dir_), removed afterwards; also seeds.
class Pictures : public course::testing::ScratchDir {};

// (count, 1, 28, 28) images without a random stream: a different stripe pattern per image.
torch::Tensor stripes(int64_t count) {
  const auto position = torch::arange(28 * 28, torch::kFloat32).reshape({1, 1, 28, 28});
  const auto frequency =
      0.01 * (1 + torch::arange(count, torch::kFloat32)).reshape({count, 1, 1, 1});
  return torch::sin(position * frequency);
}

// The small Cnn of the golden "one_step" case, with the weights Python started from.
cnn::Cnn golden_model(const Golden& golden) {
  const auto options =
      cnn::CnnOptions()
          .channels1(static_cast<int64_t>(golden.scalar("one_step/inputs/channels1")))
          .channels2(static_cast<int64_t>(golden.scalar("one_step/inputs/channels2")))
          .hidden(static_cast<int64_t>(golden.scalar("one_step/inputs/hidden")))
          .dropout(0.0);  // dropout would need a random stream
  cnn::Cnn model(options);
  torch::NoGradGuard no_grad;
  for (auto& item : model->named_parameters()) {
    item.value().copy_(golden.tensor("one_step/inputs/state/" + item.key()));
  }
  for (auto& item : model->named_buffers()) {
    item.value().copy_(golden.tensor("one_step/inputs/state/" + item.key()));
  }
  return model;
}

}  // namespace

// ---- the model --------------------------------------------------------------------------------

TEST_F(Cnn, OutputIsOneRowOfLogitsPerImage) {
  cnn::Cnn model;
  for (const int64_t batch : {1, 5}) {
    model->train();
    EXPECT_EQ(model->forward(stripes(batch)).sizes(), (std::vector<int64_t>{batch, 10}));
    model->eval();
    EXPECT_EQ(model->forward(stripes(batch)).sizes(), (std::vector<int64_t>{batch, 10}));
  }
  // The lesson's model: 1*32*9 + 2*32 + 32*64*9 + 2*64 + 3136*128 + 128 + 128*10 + 10.
  EXPECT_EQ(cnn::parameter_count(*model), 421738);
}

TEST_F(Cnn, ImagesWithoutTheChannelDimensionAreRefusedWithAHint) {
  cnn::Cnn model;
  try {
    model->forward(torch::zeros({5, 28, 28}));
    FAIL() << "expected an error";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what_without_backtrace()).find("unsqueeze(1)"), std::string::npos)
        << e.what_without_backtrace();
  }
}

TEST(CnnGolden, OneAdamStepMatchesPython) {
  const Golden golden("08_cnn");
  auto model = golden_model(golden);
  const auto images = golden.tensor("one_step/inputs/images");  // (4, 1, 28, 28)
  const auto labels = golden.tensor("one_step/inputs/labels");  // (4,)
  torch::optim::Adam optimizer(model->parameters(),
                               torch::optim::AdamOptions(golden.scalar("one_step/inputs/lr")));
  model->train();
  const auto result = cnn::train_step(model, optimizer, images, labels);
  EXPECT_NEAR(result.loss.item<double>(), golden.scalar("one_step/outputs/loss"), 1e-5);
  EXPECT_TRUE(AllClose(result.logits, golden.tensor("one_step/outputs/logits"), 1e-4, 1e-5));
  // Every weight after the step, and batch norm's running statistics after one update.
  for (const auto& item : model->named_parameters()) {
    EXPECT_TRUE(
        AllClose(item.value(), golden.tensor("one_step/outputs/state/" + item.key()), 1e-5, 1e-6))
        << item.key();
  }
  for (const auto& item : model->named_buffers()) {
    EXPECT_TRUE(
        AllClose(item.value(), golden.tensor("one_step/outputs/state/" + item.key()), 1e-5, 1e-6))
        << item.key();
  }
  // eval(): batch norm now uses those running statistics.
  model->eval();
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(
      AllClose(model->forward(images), golden.tensor("one_step/outputs/eval_logits"), 1e-4, 1e-5));
}

TEST_F(Cnn, LossFallsOverTwentyStepsOnAFixedBatch) {
  cnn::Cnn model;
  model->train();
  torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(1e-3));
  const auto images = stripes(16);
  const auto labels = torch::arange(16) % 10;
  std::vector<double> losses;
  for (int step = 0; step < 20; ++step) {
    losses.push_back(cnn::train_step(model, optimizer, images, labels).loss.item<double>());
  }
  EXPECT_GT(losses.front(), 1.5);                  // about ln(10) = 2.3 at the start
  EXPECT_LT(losses.back(), 0.2 * losses.front());  // and clearly learning (about 0.05)
}

// ---- batch norm and dropout in train() and eval() ----------------------------------------------

TEST_F(BatchNorm, TrainModeUpdatesRunningStatisticsEvalModeDoesNot) {
  cnn::Cnn model(cnn::CnnOptions().dropout(0.0));
  const auto images = stripes(6);
  ASSERT_TRUE(torch::equal(model->bn1->running_mean, torch::zeros({32})));
  model->train();
  model->forward(images);
  EXPECT_EQ(model->bn1->num_batches_tracked.item<int64_t>(), 1);
  EXPECT_GT(model->bn1->running_mean.abs().max().item<double>(), 1e-4);  // moved toward the mean
  const auto mean = model->bn1->running_mean.clone();
  const auto var = model->bn2->running_var.clone();
  model->eval();
  model->forward(images);
  EXPECT_EQ(model->bn1->num_batches_tracked.item<int64_t>(), 1);
  EXPECT_TRUE(torch::equal(model->bn1->running_mean, mean));
  EXPECT_TRUE(torch::equal(model->bn2->running_var, var));
}

TEST_F(BatchNorm, InEvalModeAnImagesOutputDoesNotDependOnTheRestOfTheBatch) {
  cnn::Cnn model(cnn::CnnOptions().dropout(0.0));
  const auto images = stripes(6);
  torch::NoGradGuard no_grad;
  model->train();
  model->forward(images);  // give the running statistics something other than 0 and 1
  model->eval();
  const auto alone = model->forward(images.slice(0, 0, 1));  // (1, 10)
  const auto in_batch = model->forward(images).slice(0, 0, 1);
  EXPECT_TRUE(AllClose(alone, in_batch, 1e-5, 1e-5));
  // In train mode the batch's own statistics normalise it: the neighbours change the result.
  model->train();
  const auto alone_train = model->forward(images.slice(0, 0, 1));
  const auto in_batch_train = model->forward(images).slice(0, 0, 1);
  EXPECT_GT((alone_train - in_batch_train).abs().max().item<double>(), 1e-3);
}

TEST_F(BatchNorm, DropoutChangesOutputsOnlyInTrainMode) {
  cnn::Cnn model(cnn::CnnOptions().dropout(0.5));
  const auto images = stripes(4);
  torch::NoGradGuard no_grad;
  model->eval();
  EXPECT_TRUE(torch::equal(model->forward(images), model->forward(images)));
  model->train();
  EXPECT_FALSE(torch::equal(model->forward(images), model->forward(images)));
}

// ---- data, schedule ---------------------------------------------------------------------------

TEST(CnnGolden, NormalizeMatchesPython) {
  const Golden golden("08_cnn");
  EXPECT_TRUE(AllClose(cnn::normalize_images(golden.tensor("normalize/inputs/images")),
                       golden.tensor("normalize/outputs/normalized"), 1e-6, 1e-6));
}

TEST_F(Cnn, RandomFlipMirrorsSomeImagesAndKeepsTheOthers) {
  const auto images = stripes(64);
  const auto flipped = cnn::random_flip(images);
  int mirrored = 0, kept = 0;
  for (int64_t i = 0; i < 64; ++i) {
    if (torch::equal(flipped[i], images[i])) {
      ++kept;
    } else {
      EXPECT_TRUE(torch::equal(flipped[i], images[i].flip({2}))) << "image " << i;
      ++mirrored;
    }
  }
  EXPECT_GT(mirrored, 16);  // about half of 64 each way
  EXPECT_GT(kept, 16);
}

TEST(CnnGolden, CosineScheduleMatchesPythonsCosineAnnealingLR) {
  const Golden golden("08_cnn");
  const double base_lr = golden.scalar("cosine/inputs/base_lr");
  const auto total = static_cast<int64_t>(golden.scalar("cosine/inputs/total_steps"));
  const auto expected = golden.tensor("cosine/outputs/lr");  // (total + 1,)
  ASSERT_EQ(expected.size(0), total + 1);
  for (int64_t step = 0; step <= total; ++step) {
    EXPECT_NEAR(course::cosine_lr(base_lr, step, total), expected[step].item<double>(), 1e-10)
        << "step " << step;
  }
}

// ---- the confusion matrix ---------------------------------------------------------------------

TEST(Confusion, MatchesPython) {
  const Golden golden("08_cnn");
  const auto matrix = cnn::confusion_matrix(golden.tensor("confusion/inputs/predicted"),
                                            golden.tensor("confusion/inputs/labels"),
                                            /*classes=*/10);
  EXPECT_EQ(matrix.scalar_type(), torch::kInt64);
  EXPECT_TRUE(torch::equal(matrix, golden.tensor("confusion/outputs/matrix")));
}

TEST(Confusion, RowsAreTrueClassesColumnsPredictions) {
  const auto predicted = torch::tensor({1, 1, 2, 0}, torch::kInt64);
  const auto labels = torch::tensor({1, 0, 2, 0}, torch::kInt64);
  const auto matrix = cnn::confusion_matrix(predicted, labels, /*classes=*/3);
  const auto expected = torch::tensor({1, 1, 0, 0, 1, 0, 0, 0, 1}, torch::kInt64).reshape({3, 3});
  EXPECT_TRUE(torch::equal(matrix, expected)) << matrix;
}

TEST(Confusion, RefusesClassNumbersOutOfRange) {
  const auto labels = torch::tensor({0, 10}, torch::kInt64);
  const auto predicted = torch::tensor({0, 1}, torch::kInt64);
  try {
    cnn::confusion_matrix(predicted, labels, /*classes=*/10);
    FAIL() << "expected an error";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what_without_backtrace()).find("0..9"), std::string::npos)
        << e.what_without_backtrace();
  }
  EXPECT_THROW(cnn::confusion_matrix(predicted, labels.slice(0, 0, 1), 10), c10::Error);
}

TEST(Confusion, TextHasEveryClassNameAndItsRecall) {
  const Golden golden("08_cnn");
  const auto matrix = golden.tensor("confusion/outputs/matrix");
  const std::string text = cnn::format_confusion(matrix, course::kFashionClasses);
  std::istringstream lines(text);
  std::string line;
  std::getline(lines, line);  // the header
  EXPECT_NE(line.find("recall"), std::string::npos) << line;
  for (int64_t t = 0; t < 10; ++t) {
    ASSERT_TRUE(std::getline(lines, line));
    EXPECT_EQ(line.rfind(std::to_string(t) + " " + course::kFashionClasses[t], 0), 0u) << line;
    const double recall =
        matrix[t][t].item<double>() / static_cast<double>(matrix[t].sum().item<int64_t>());
    const std::string expected = fmt::format("{:.3f}", recall);
    EXPECT_EQ(line.substr(line.size() - expected.size()), expected) << line;
  }
}

// ---- the pictures -----------------------------------------------------------------------------

TEST_F(Pictures, ConfusionPngIsWritten) {
  const auto matrix = torch::eye(10, torch::kInt64) * 90 + 1;
  const auto path = dir_ / "sub" / "confusion.png";
  cnn::save_confusion_png(matrix, course::kFashionClasses, path);
  const cv::Mat image = cv::imread(path.string());
  ASSERT_FALSE(image.empty());
  EXPECT_EQ(image.cols, 130 + 10 * 52 + 20);
  EXPECT_EQ(image.rows, 70 + 10 * 52 + 40);
}

TEST_F(Pictures, MistakesPngShowsOnlyTheWrongOnes) {
  const auto images = (torch::arange(6 * 28 * 28) % 256).to(torch::kUInt8).reshape({6, 28, 28});
  const auto labels = torch::tensor({0, 1, 2, 3, 4, 5}, torch::kInt64);
  const auto predicted = torch::tensor({0, 7, 2, 9, 9, 5}, torch::kInt64);  // 3 wrong
  const auto path = dir_ / "mistakes.png";
  EXPECT_EQ(cnn::save_mistakes_png(images, labels, predicted, course::kFashionClasses, 32, path),
            3);
  const cv::Mat image = cv::imread(path.string());
  ASSERT_FALSE(image.empty());
  EXPECT_EQ(image.cols, 8 * (112 + 4) + 4);  // 8 columns of 4x tiles
  EXPECT_EQ(image.rows, 1 * (112 + 34 + 4) + 4);
  EXPECT_EQ(cnn::save_mistakes_png(images, labels, predicted, course::kFashionClasses, 2, path), 2);
  const auto none = dir_ / "none.png";
  EXPECT_EQ(cnn::save_mistakes_png(images, labels, labels, course::kFashionClasses, 32, none), 0);
  EXPECT_FALSE(fs::exists(none));
}
