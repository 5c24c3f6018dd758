// Tests of lesson 08: the very functions main.cpp defines (it is included below, without its
// main), against Python PyTorch's values in golden.json (written by reference.py --golden): the
// CNN's shapes, one Adam step, evaluation in eval() mode, batch norm and dropout in train() and
// eval(), an epoch, the flips, the cosine schedule and the confusion matrix.
#define COURSE_TESTING
#include "main.cpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "course/files.h"
#include "golden.h"
#include "scratch_dir.h"

namespace fs = std::filesystem;
using course::testing::AllClose;
using course::testing::Golden;

namespace {

// Seeds the default generator before every test, so weight init and dropout repeat.
class Cnn : public ::testing::Test {
 protected:
  void SetUp() override { torch::manual_seed(0); }
  const Golden golden_{"08_cnn"};
};
using BatchNorm = Cnn;
using Confusion = Cnn;

// A fresh empty folder per test (dir_), removed afterwards; also seeds.
class Pictures : public course::testing::ScratchDir {};

// (count, 1, 28, 28) images without a random stream: a different stripe pattern per image.
torch::Tensor stripes(int64_t count) {
  const auto position = torch::arange(28 * 28, torch::kFloat32).reshape({1, 1, 28, 28});
  const auto frequency =
      0.01 * (1 + torch::arange(count, torch::kFloat32)).reshape({count, 1, 1, 1});
  return torch::sin(position * frequency);
}

// The small Cnn of the golden "one_step" case, with the weights (and batch norm statistics) stored
// under `prefix`: "one_step/inputs/state/" before the step, "one_step/outputs/state/" after it.
course::Cnn golden_model(const Golden& golden, const std::string& prefix) {
  const auto width = [&](const char* name) {
    return static_cast<int64_t>(golden.scalar(std::string("one_step/inputs/") + name));
  };
  course::Cnn model(course::CnnOptions()
                        .channels1(width("channels1"))
                        .channels2(width("channels2"))
                        .hidden(width("hidden"))
                        .dropout(0.0));  // dropout would need a random stream
  torch::NoGradGuard no_grad;
  for (auto& item : model->named_parameters())
    item.value().copy_(golden.tensor(prefix + item.key()));
  for (auto& item : model->named_buffers()) item.value().copy_(golden.tensor(prefix + item.key()));
  return model;
}

}  // namespace

// ---- the model --------------------------------------------------------------------------------

TEST_F(Cnn, OutputIsOneRowOfLogitsPerImage) {
  course::Cnn model;
  for (const int64_t batch : {1, 5}) {
    model->train();
    EXPECT_EQ(model->forward(stripes(batch)).sizes(), (std::vector<int64_t>{batch, 10}));
    model->eval();
    EXPECT_EQ(model->forward(stripes(batch)).sizes(), (std::vector<int64_t>{batch, 10}));
  }
  // The lesson's model: 1*32*9 + 2*32 + 32*64*9 + 2*64 + 3136*128 + 128 + 128*10 + 10.
  EXPECT_EQ(course::parameter_count(*model), 421738);
}

TEST_F(Cnn, ImagesWithoutTheChannelDimensionAreRefusedWithAHint) {
  course::Cnn model;
  try {
    model->forward(torch::zeros({5, 28, 28}));
    FAIL() << "expected an error";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what_without_backtrace()).find("unsqueeze(1)"), std::string::npos)
        << e.what_without_backtrace();
  }
}

// ---- training and evaluation against Python ----------------------------------------------------

TEST_F(Cnn, OneAdamStepMatchesPython) {
  auto model = golden_model(golden_, "one_step/inputs/state/");
  const auto images = golden_.tensor("one_step/inputs/images");  // (4, 1, 28, 28)
  const auto labels = golden_.tensor("one_step/inputs/labels");  // (4,)
  torch::optim::Adam optimizer(model->parameters(),
                               torch::optim::AdamOptions(golden_.scalar("one_step/inputs/lr")));
  model->train();
  const auto result = train_step(model, optimizer, images, labels);
  EXPECT_NEAR(result.loss.item<double>(), golden_.scalar("one_step/outputs/loss"), 1e-5);
  EXPECT_TRUE(AllClose(result.logits, golden_.tensor("one_step/outputs/logits"), 1e-4, 1e-5));
  // Every weight after the step, and batch norm's running statistics after one update.
  for (const auto& item : model->named_parameters()) {
    EXPECT_TRUE(
        AllClose(item.value(), golden_.tensor("one_step/outputs/state/" + item.key()), 1e-5, 1e-6))
        << item.key();
  }
  for (const auto& item : model->named_buffers()) {
    EXPECT_TRUE(
        AllClose(item.value(), golden_.tensor("one_step/outputs/state/" + item.key()), 1e-5, 1e-6))
        << item.key();
  }
}

TEST_F(Cnn, EvaluateUsesEvalModeAsPythonDoes) {
  // The model after the golden step: its running statistics differ from the statistics of these
  // four images, so a forward pass in train() mode would give other logits than Python's eval().
  auto model = golden_model(golden_, "one_step/outputs/state/");
  const auto images = golden_.tensor("one_step/inputs/images");
  const auto labels = golden_.tensor("one_step/inputs/labels");
  const int64_t tracked = model->bn1->num_batches_tracked.item<int64_t>();
  const Score score = evaluate(model, images, labels);
  EXPECT_NEAR(score.loss, golden_.scalar("evaluate/outputs/loss"), 1e-5);
  EXPECT_NEAR(score.accuracy, golden_.scalar("evaluate/outputs/accuracy"), 1e-7);
  EXPECT_TRUE(torch::equal(score.predicted, golden_.tensor("evaluate/outputs/predicted")));
  EXPECT_EQ(model->bn1->num_batches_tracked.item<int64_t>(), tracked);  // statistics untouched
  EXPECT_TRUE(model->is_training());  // evaluate hands the model back in train() mode
  EXPECT_FALSE(model->bn1->weight.grad().defined());  // no autograd graph was built
}

TEST_F(Cnn, EvaluateIgnoresDropoutAndTheBatchSize) {
  course::Cnn model(course::CnnOptions().dropout(0.5));
  model->train();
  model->forward(stripes(8));         // running statistics other than 0 and 1
  const auto images = stripes(1200);  // more than one evaluation batch (kEvalBatch = 1000)
  const auto labels = torch::arange(1200) % 10;
  const Score first = evaluate(model, images, labels);
  const Score again = evaluate(model, images, labels);
  EXPECT_EQ(first.loss, again.loss);  // no dropout: the same numbers twice
  const Score tail = evaluate(model, images.slice(0, 1000), labels.slice(0, 1000));
  EXPECT_TRUE(torch::equal(first.predicted.slice(0, 1000), tail.predicted));
}

TEST_F(Cnn, LossFallsOverTwentyStepsOnAFixedBatch) {
  course::Cnn model;
  model->train();
  torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(1e-3));
  const auto images = stripes(16);
  const auto labels = torch::arange(16) % 10;
  std::vector<double> losses;
  for (int step = 0; step < 20; ++step) {
    losses.push_back(train_step(model, optimizer, images, labels).loss.item<double>());
  }
  EXPECT_GT(losses.front(), 1.5);                  // about ln(10) = 2.3 at the start
  EXPECT_LT(losses.back(), 0.2 * losses.front());  // and clearly learning (about 0.05)
}

TEST_F(Cnn, AnEpochTrainsInTrainModeOnEveryImageOnce) {
  Data data;
  data.x_train = stripes(20);
  data.y_train = torch::arange(20) % 10;
  Config config;
  config.batch_size = 8;  // 3 steps: 8 + 8 + 4
  config.flip = false;
  course::Cnn model(course::CnnOptions().dropout(0.0));
  model->eval();  // as evaluate() would not leave it, but a careless caller might
  torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(1e-3));
  const Score score = train_epoch(model, optimizer, data, config, /*epoch=*/2, /*epochs=*/2);
  EXPECT_EQ(model->bn1->num_batches_tracked.item<int64_t>(), 3);  // one update per step
  EXPECT_GT(score.loss, 1.0);  // an untrained model: about ln(10)
  EXPECT_LT(score.loss, 5.0);
  EXPECT_GE(score.accuracy, 0.0);
  EXPECT_LE(score.accuracy, 1.0);
  // The last step of a 2-epoch run of 3 steps each is step 5 of the cosine schedule's 6.
  EXPECT_NEAR(optimizer.param_groups()[0].options().get_lr(), course::cosine_lr(1e-3, 5, 6), 1e-12);
}

// ---- batch norm and dropout in train() and eval() ----------------------------------------------

TEST_F(BatchNorm, TrainModeUpdatesRunningStatisticsEvalModeDoesNot) {
  course::Cnn model(course::CnnOptions().dropout(0.0));
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
  course::Cnn model(course::CnnOptions().dropout(0.0));
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
  course::Cnn model(course::CnnOptions().dropout(0.5));
  const auto images = stripes(4);
  torch::NoGradGuard no_grad;
  model->eval();
  EXPECT_TRUE(torch::equal(model->forward(images), model->forward(images)));
  model->train();
  EXPECT_FALSE(torch::equal(model->forward(images), model->forward(images)));
}

// ---- data and schedule --------------------------------------------------------------------------

TEST_F(Cnn, NormalizeMatchesPython) {
  EXPECT_TRUE(AllClose(course::normalize_fashion(golden_.tensor("normalize/inputs/images")),
                       golden_.tensor("normalize/outputs/normalized"), 1e-6, 1e-6));
}

TEST_F(Cnn, RandomFlipMirrorsSomeImagesAndKeepsTheOthers) {
  const auto images = stripes(64);
  const auto flipped = random_flip(images);
  int mirrored = 0, kept = 0;
  for (int64_t i = 0; i < 64; ++i) {
    if (torch::equal(flipped[i], images[i])) {
      ++kept;
    } else {
      EXPECT_TRUE(torch::equal(flipped[i], images[i].flip({2}))) << "image " << i;  // (1, H, W)
      ++mirrored;
    }
  }
  EXPECT_GT(mirrored, 16);  // about half of 64 each way
  EXPECT_GT(kept, 16);
}

TEST_F(Cnn, CosineScheduleMatchesPythonsCosineAnnealingLR) {
  const double base_lr = golden_.scalar("cosine/inputs/base_lr");
  const auto total = static_cast<int64_t>(golden_.scalar("cosine/inputs/total_steps"));
  const auto expected = golden_.tensor("cosine/outputs/lr");  // (total + 1,)
  ASSERT_EQ(expected.size(0), total + 1);
  for (int64_t step = 0; step <= total; ++step) {
    EXPECT_NEAR(course::cosine_lr(base_lr, step, total), expected[step].item<double>(), 1e-10)
        << "step " << step;
  }
}

// ---- the confusion matrix and the mistakes
// --------------------------------------------------------

TEST_F(Confusion, MatchesPython) {
  const auto matrix = confusion_matrix(golden_.tensor("confusion/inputs/predicted"),
                                       golden_.tensor("confusion/inputs/labels"), /*classes=*/10);
  EXPECT_EQ(matrix.scalar_type(), torch::kInt64);
  EXPECT_TRUE(torch::equal(matrix, golden_.tensor("confusion/outputs/matrix")));
}

TEST_F(Confusion, RowsAreTrueClassesColumnsPredictions) {
  const auto predicted = torch::tensor({1, 1, 2, 0}, torch::kInt64);
  const auto labels = torch::tensor({1, 0, 2, 0}, torch::kInt64);
  const auto matrix = confusion_matrix(predicted, labels, /*classes=*/3);
  const auto expected = torch::tensor({1, 1, 0, 0, 1, 0, 0, 0, 1}, torch::kInt64).reshape({3, 3});
  EXPECT_TRUE(torch::equal(matrix, expected)) << matrix;
}

TEST_F(Confusion, RefusesClassNumbersOutOfRange) {
  const auto labels = torch::tensor({0, 10}, torch::kInt64);
  const auto predicted = torch::tensor({0, 1}, torch::kInt64);
  try {
    confusion_matrix(predicted, labels, /*classes=*/10);
    FAIL() << "expected an error";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what_without_backtrace()).find("0..9"), std::string::npos)
        << e.what_without_backtrace();
  }
  EXPECT_THROW(confusion_matrix(predicted, labels.slice(0, 0, 1), 10), c10::Error);
}

TEST_F(Pictures, MistakesPngShowsOnlyTheWrongOnes) {
  const auto images = (torch::arange(6 * 28 * 28) % 256).to(torch::kUInt8).reshape({6, 28, 28});
  const auto labels = torch::tensor({0, 1, 2, 3, 4, 5}, torch::kInt64);
  const auto predicted = torch::tensor({0, 7, 2, 9, 9, 5}, torch::kInt64);  // 3 wrong
  const auto path = dir_ / "mistakes.png";
  EXPECT_EQ(save_mistakes(images, labels, predicted, 32, path), 3);
  const cv::Mat image = course::read_png(path);
  ASSERT_FALSE(image.empty());
  EXPECT_EQ(image.cols, 8 * (112 + 4) + 4);  // 8 columns of 4x tiles
  EXPECT_EQ(image.rows, 1 * (112 + 34 + 4) + 4);
  EXPECT_EQ(save_mistakes(images, labels, predicted, 2, path), 2);
  const auto none = dir_ / "none.png";
  EXPECT_EQ(save_mistakes(images, labels, labels, 32, none), 0);
  EXPECT_FALSE(fs::exists(none));
}
