// Tests of lesson 09: the very functions main.cpp defines (it is included below, without its
// main) and the model of resnet.h, against Python PyTorch's values in golden.json (written by
// reference.py --golden): a block's output with the same weights, the shortcut's shape logic, two
// SGD steps, evaluation in eval() mode, the schedule, the augmentation, the best-epoch checkpoint
// and the time-to-accuracy bookkeeping.
#define COURSE_TESTING
#include "main.cpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "golden.h"
#include "scratch_dir.h"

namespace fs = std::filesystem;
using course::testing::AllClose;
using course::testing::Golden;

namespace {

// Seeds the default generator before every test, so weight init and augmentation repeat.
class ResNet : public ::testing::Test {
 protected:
  void SetUp() override { torch::manual_seed(0); }
  const Golden golden_{"09_resnet"};
};
using Block = ResNet;
using Training = ResNet;
using Augment = ResNet;
using Milestones = ResNet;

// A fresh empty folder per test (dir_), removed afterwards; also seeds.
class Checkpoint : public course::testing::ScratchDir {};

// (count, channels, size, size) images without a random stream: a stripe pattern per image.
torch::Tensor stripes(int64_t count, int64_t channels = 1, int64_t size = 28) {
  const auto position =
      torch::arange(channels * size * size, torch::kFloat32).reshape({1, channels, size, size});
  const auto frequency =
      0.01 * (1 + torch::arange(count, torch::kFloat32)).reshape({count, 1, 1, 1});
  return torch::sin(position * frequency);
}

// Copies every parameter and buffer stored under `prefix` ("case/inputs/state/") into `module`.
void load_golden_state(torch::nn::Module& module, const Golden& golden, const std::string& prefix) {
  torch::NoGradGuard no_grad;
  for (auto& item : module.named_parameters())
    item.value().copy_(golden.tensor(prefix + item.key()));
  for (auto& item : module.named_buffers()) item.value().copy_(golden.tensor(prefix + item.key()));
}

// Every parameter and buffer of `module` against those stored under `prefix`.
void expect_state_near(torch::nn::Module& module, const Golden& golden, const std::string& prefix,
                       double rtol, double atol) {
  for (const auto& item : module.named_parameters()) {
    EXPECT_TRUE(AllClose(item.value(), golden.tensor(prefix + item.key()), rtol, atol))
        << item.key();
  }
  for (const auto& item : module.named_buffers()) {
    EXPECT_TRUE(AllClose(item.value(), golden.tensor(prefix + item.key()), rtol, atol))
        << item.key();
  }
}

// The small ResNet of the golden "two_steps" case, with the weights stored under `prefix`.
course::ResNet golden_resnet(const Golden& golden, const std::string& prefix) {
  const auto number = [&](const char* name) {
    return static_cast<int64_t>(golden.scalar(std::string("two_steps/inputs/") + name));
  };
  const auto channels = golden.tensor("two_steps/inputs/channels");
  course::ResNet model(
      course::ResNetOptions()
          .stem_channels(number("stem_channels"))
          .channels(std::vector<int64_t>(channels.data_ptr<int64_t>(),
                                         channels.data_ptr<int64_t>() + channels.numel()))
          .blocks(number("blocks")));
  load_golden_state(*model, golden, prefix);
  return model;
}

// Whether `image` (C, H, W) is the window of `padded` (C, H + 2p, W + 2p) at offset (dy, dx),
// mirrored left-right when `mirrored`.
bool is_window(const torch::Tensor& image, const torch::Tensor& padded, int64_t dy, int64_t dx,
               bool mirrored) {
  const auto window = padded.slice(1, dy, dy + image.size(1)).slice(2, dx, dx + image.size(2));
  return torch::equal(image, mirrored ? window.flip({2}) : window);
}

// The offsets (dy, dx) and mirroring under which `image` is a window of `padded`; empty if none.
std::vector<std::pair<int64_t, int64_t>> windows_of(const torch::Tensor& image,
                                                    const torch::Tensor& padded, int64_t padding,
                                                    bool mirrored) {
  std::vector<std::pair<int64_t, int64_t>> found;
  for (int64_t dy = 0; dy <= 2 * padding; ++dy)
    for (int64_t dx = 0; dx <= 2 * padding; ++dx)
      if (is_window(image, padded, dy, dx, mirrored)) found.emplace_back(dy, dx);
  return found;
}

// The whole file, to see whether it changed.
std::string read_bytes(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

}  // namespace

// ---- the block and its shortcut ----------------------------------------------------------------

void expect_block_matches(const Golden& golden, const std::string& name) {
  const std::string in = name + "/inputs/", out = name + "/outputs/";
  course::BasicBlock block(static_cast<int64_t>(golden.scalar(in + "in_channels")),
                           static_cast<int64_t>(golden.scalar(in + "out_channels")),
                           static_cast<int64_t>(golden.scalar(in + "stride")));
  load_golden_state(*block, golden, in + "state/");
  const auto x = golden.tensor(in + "x");
  torch::NoGradGuard no_grad;
  block->eval();  // the stored running statistics
  EXPECT_TRUE(AllClose(block->forward(x), golden.tensor(out + "eval"), 1e-5, 1e-5));
  block->train();  // the batch's own statistics, and one update of the running ones
  EXPECT_TRUE(AllClose(block->forward(x), golden.tensor(out + "train"), 1e-5, 1e-5));
  expect_state_near(*block, golden, out + "state/", 1e-5, 1e-6);
}

TEST_F(Block, WithIdentityShortcutMatchesPython) {
  expect_block_matches(golden_, "block_identity");
}

TEST_F(Block, WithProjectionShortcutMatchesPython) {
  expect_block_matches(golden_, "block_projection");
}

TEST_F(Block, ShortcutProjectsExactlyWhenTheShapeChanges) {
  struct Case {
    int64_t in, out, stride, size;
    bool projection;
    int64_t out_size;
  };
  for (const Case& c :
       {Case{4, 4, 1, 9, false, 9}, Case{4, 8, 1, 9, true, 9}, Case{4, 4, 2, 9, true, 5},
        Case{4, 8, 2, 28, true, 14}, Case{8, 16, 2, 7, true, 4}}) {
    course::BasicBlock block(c.in, c.out, c.stride);
    EXPECT_EQ(block->has_projection(), c.projection) << c.in << "->" << c.out << " /" << c.stride;
    EXPECT_EQ(block->named_parameters().contains("shortcut.0.weight"), c.projection);
    if (c.projection) {  // a 1x1 conv with the block's stride, then a batch norm
      EXPECT_EQ(block->named_parameters()["shortcut.0.weight"].sizes(),
                (std::vector<int64_t>{c.out, c.in, 1, 1}));
    }
    const auto y = block->forward(stripes(3, c.in, c.size));
    EXPECT_EQ(y.sizes(), (std::vector<int64_t>{3, c.out, c.out_size, c.out_size}));
  }
}

TEST_F(Block, TheIdentityShortcutAddsTheInputItself) {
  // With the last batch norm's scale and shift at 0 the residual branch gives 0, so the block
  // returns relu(x + 0): exactly relu(x) for an identity shortcut.
  course::BasicBlock block(4, 4);
  torch::NoGradGuard no_grad;
  block->bn2->weight.zero_();
  block->bn2->bias.zero_();
  const auto x = stripes(2, 4, 6);
  EXPECT_TRUE(AllClose(block->forward(x), torch::relu(x), 0, 1e-6));
}

// ---- the ResNet -------------------------------------------------------------------------------

TEST_F(ResNet, OutputIsOneRowOfLogitsPerImage) {
  course::ResNet model;
  for (const int64_t batch : {1, 5}) {
    model->train();
    EXPECT_EQ(model->forward(stripes(batch)).sizes(), (std::vector<int64_t>{batch, 10}));
    model->eval();
    EXPECT_EQ(model->forward(stripes(batch)).sizes(), (std::vector<int64_t>{batch, 10}));
  }
  // 3 stages of 2 blocks; the first block of each stage projects: 6 blocks, 3 projections.
  ASSERT_EQ(model->blocks->size(), 6u);
  int projections = 0;
  for (size_t i = 0; i < model->blocks->size(); ++i)
    projections += model->blocks[i]->as<course::BasicBlock>()->has_projection();
  EXPECT_EQ(projections, 3);
  EXPECT_EQ(course::parameter_count(*model), 697130);  // what Python counts for the same model
}

TEST_F(ResNet, EachStageHalvesTheImageAndSetsItsChannels) {
  course::ResNet model(course::ResNetOptions().blocks(1));
  auto x = torch::relu(model->stem_bn(model->stem_conv(stripes(2))));
  EXPECT_EQ(x.sizes(), (std::vector<int64_t>{2, 32, 28, 28}));
  const std::vector<std::vector<int64_t>> shapes = {{2, 32, 14, 14}, {2, 64, 7, 7}, {2, 128, 4, 4}};
  for (size_t i = 0; i < shapes.size(); ++i) {
    x = model->blocks[i]->as<course::BasicBlock>()->forward(x);
    EXPECT_EQ(x.sizes(), shapes[i]) << "stage " << i + 1;
  }
}

TEST_F(ResNet, ImagesWithoutTheChannelDimensionAreRefusedWithAHint) {
  course::ResNet model;
  try {
    model->forward(torch::zeros({5, 28, 28}));
    FAIL() << "expected an error";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what_without_backtrace()).find("unsqueeze(1)"), std::string::npos)
        << e.what_without_backtrace();
  }
}

// ---- training and evaluation against Python ----------------------------------------------------

TEST_F(Training, TwoSgdStepsMatchPython) {
  auto model = golden_resnet(golden_, "two_steps/inputs/state/");
  Config config;
  config.lr = golden_.scalar("two_steps/inputs/lr");
  config.momentum = golden_.scalar("two_steps/inputs/momentum");
  config.weight_decay = golden_.scalar("two_steps/inputs/weight_decay");
  auto optimizer = make_optimizer(model, config);
  const auto images = golden_.tensor("two_steps/inputs/images");  // (4, 1, 28, 28)
  const auto labels = golden_.tensor("two_steps/inputs/labels");  // (4,)
  const double smoothing = golden_.scalar("two_steps/inputs/label_smoothing");
  model->train();
  const auto first = train_step(model, optimizer, images, labels, smoothing);
  EXPECT_NEAR(first.loss.item<double>(), golden_.scalar("two_steps/outputs/loss1"), 1e-5);
  EXPECT_TRUE(AllClose(first.logits, golden_.tensor("two_steps/outputs/logits1"), 1e-4, 1e-5));
  // The second step uses the momentum the first one left.
  const auto second = train_step(model, optimizer, images, labels, smoothing);
  EXPECT_NEAR(second.loss.item<double>(), golden_.scalar("two_steps/outputs/loss2"), 1e-5);
  EXPECT_TRUE(AllClose(second.logits, golden_.tensor("two_steps/outputs/logits2"), 1e-4, 1e-5));
  expect_state_near(*model, golden_, "two_steps/outputs/state/", 1e-4, 1e-6);
}

TEST_F(Training, EvaluateUsesEvalModeAsPythonDoes) {
  auto model = golden_resnet(golden_, "two_steps/outputs/state/");
  const auto images = golden_.tensor("two_steps/inputs/images");
  const auto labels = golden_.tensor("two_steps/inputs/labels");
  const int64_t tracked = model->stem_bn->num_batches_tracked.item<int64_t>();
  const Score score = evaluate(model, images, labels);
  EXPECT_NEAR(score.loss, golden_.scalar("evaluate/outputs/loss"), 1e-5);
  EXPECT_NEAR(score.accuracy, golden_.scalar("evaluate/outputs/accuracy"), 1e-7);
  EXPECT_EQ(model->stem_bn->num_batches_tracked.item<int64_t>(), tracked);  // untouched
  EXPECT_TRUE(model->is_training());  // evaluate hands the model back in train() mode
  EXPECT_FALSE(model->head->weight.grad().defined());  // no autograd graph was built
}

TEST_F(Training, EvaluateCountsEveryBatch) {
  course::ResNet model(course::ResNetOptions().stem_channels(4).channels({4, 8}).blocks(1));
  const auto images = stripes(1200);  // more than one evaluation batch (kEvalBatch = 1000)
  const auto labels = torch::arange(1200) % 10;
  const Score all = evaluate(model, images, labels);
  const Score head = evaluate(model, images.slice(0, 0, 1000), labels.slice(0, 0, 1000));
  const Score tail = evaluate(model, images.slice(0, 1000), labels.slice(0, 1000));
  EXPECT_NEAR(all.accuracy, (1000 * head.accuracy + 200 * tail.accuracy) / 1200, 1e-9);
  EXPECT_NEAR(all.loss, (1000 * head.loss + 200 * tail.loss) / 1200, 1e-5);
}

TEST_F(Training, LossFallsOverTwentyStepsOnAFixedBatch) {
  course::ResNet model(course::ResNetOptions().stem_channels(8).channels({8, 16}).blocks(1));
  Config config;
  config.lr = 0.05;
  auto optimizer = make_optimizer(model, config);
  const auto images = stripes(16);
  const auto labels = torch::arange(16) % 10;
  std::vector<double> losses;
  for (int step = 0; step < 20; ++step) {
    losses.push_back(train_step(model, optimizer, images, labels, 0.1).loss.item<double>());
  }
  EXPECT_GT(losses.front(), 1.5);                  // about ln(10) = 2.3 at the start
  EXPECT_LT(losses.back(), 0.5 * losses.front());  // and clearly learning
}

TEST_F(Training, AnEpochTrainsInTrainModeWithTheScheduleOfTheRun) {
  Data data;
  data.x_train = stripes(20);
  data.y_train = torch::arange(20) % 10;
  Config config;
  config.model = course::ResNetOptions().stem_channels(4).channels({4, 8}).blocks(1);
  config.batch_size = 8;       // 3 steps: 8 + 8 + 4
  config.warmup_epochs = 0.5;  // 1.5 steps, rounded to 2
  course::ResNet model(config.model);
  model->eval();  // as evaluate() would not leave it, but a careless caller might
  auto optimizer = make_optimizer(model, config);
  const Score score = train_epoch(model, optimizer, data, config, /*epoch=*/2, /*epochs=*/3);
  EXPECT_EQ(model->stem_bn->num_batches_tracked.item<int64_t>(), 3);  // one update per step
  EXPECT_GT(score.loss, 1.0);  // an untrained model: about ln(10)
  EXPECT_LT(score.loss, 5.0);
  EXPECT_GE(score.accuracy, 0.0);  // and about chance, 0.1
  EXPECT_LT(score.accuracy, 0.5);
  // Epoch 2 of 3, 3 steps each, 2 warm-up steps: its last step is step 5 of 9, the cosine's
  // step 3 of 7.
  EXPECT_NEAR(optimizer.param_groups()[0].options().get_lr(), warmup_cosine_lr(0.1, 5, 2, 9),
              1e-12);
  EXPECT_NEAR(warmup_cosine_lr(0.1, 5, 2, 9), course::cosine_lr(0.1, 3, 7), 1e-15);
}

TEST_F(Training, AnEpochAugmentsTheBatchesItTrainsOn) {
  Data data;
  data.x_train = stripes(16);
  data.y_train = torch::arange(16) % 10;
  Config config;
  config.model = course::ResNetOptions().stem_channels(4).channels({4, 8}).blocks(1);
  config.batch_size = 8;
  config.lr = 0;  // the weights stay, so the loss depends only on the images the epoch saw
  course::ResNet model(config.model);
  auto optimizer = make_optimizer(model, config);
  torch::manual_seed(1);
  const double augmented = train_epoch(model, optimizer, data, config, 1, 1).loss;
  config.crop_padding = 0;
  config.flip = false;
  torch::manual_seed(1);
  const double plain = train_epoch(model, optimizer, data, config, 1, 1).loss;
  torch::manual_seed(1);
  EXPECT_EQ(train_epoch(model, optimizer, data, config, 1, 1).loss, plain);  // repeatable
  EXPECT_GT(std::abs(augmented - plain), 1e-6);  // the crops and flips changed what it saw
}

TEST_F(Training, AnEpochTrainsOnEveryImageOnce) {
  // 20 identical images, so an image's logits do not depend on which images share its batch, and
  // lr 0, so the weights stay: the epoch's loss is then the mean over all 20 labels, in any order.
  Data data;
  data.x_train = stripes(1).expand({20, 1, 28, 28}).contiguous();
  data.y_train = torch::ones({20}, torch::kInt64);
  data.y_train[7] = 3;  // one image unlike the others: an epoch that skips it gets another mean
  Config config;
  config.model = course::ResNetOptions().stem_channels(4).channels({4, 8}).blocks(1);
  config.batch_size = 8;  // 3 steps: 8 + 8 + 4
  config.lr = 0;
  config.crop_padding = 0;  // keep the images identical
  config.flip = false;
  course::ResNet model(config.model);
  auto optimizer = make_optimizer(model, config);
  const auto logits = model->forward(data.x_train);  // (20, 10), the same row 20 times
  const double expected_loss =
      torch::nn::functional::cross_entropy(
          logits, data.y_train,
          torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(config.label_smoothing))
          .item<double>();
  const double expected_accuracy =
      logits.argmax(/*dim=*/1).eq(data.y_train).to(torch::kFloat64).mean().item<double>();
  const Score score = train_epoch(model, optimizer, data, config, /*epoch=*/1, /*epochs=*/1);
  EXPECT_NEAR(score.loss, expected_loss, 1e-5);
  EXPECT_NEAR(score.accuracy, expected_accuracy, 1e-12);
}

TEST_F(Training, ANanLossStopsTheRunWithAHint) {
  Data data;
  data.x_train = stripes(8);
  data.x_train[3][0][5][5] = std::numeric_limits<float>::quiet_NaN();
  data.y_train = torch::arange(8) % 10;
  Config config;
  config.model = course::ResNetOptions().stem_channels(4).channels({4}).blocks(1);
  course::ResNet model(config.model);
  auto optimizer = make_optimizer(model, config);
  try {
    train_epoch(model, optimizer, data, config, 1, 1);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("lower --lr"), std::string::npos) << e.what();
  }
}

TEST_F(Training, TheScheduleWarmsUpThenFollowsACosineAsPythonsSequentialLR) {
  const double peak = golden_.scalar("schedule/inputs/peak");
  const auto warmup = static_cast<int64_t>(golden_.scalar("schedule/inputs/warmup_steps"));
  const auto total = static_cast<int64_t>(golden_.scalar("schedule/inputs/total_steps"));
  const auto expected = golden_.tensor("schedule/outputs/lr");  // (total + 1,)
  ASSERT_EQ(expected.size(0), total + 1);
  for (int64_t step = 0; step <= total; ++step) {
    EXPECT_NEAR(warmup_cosine_lr(peak, step, warmup, total), expected[step].item<double>(), 1e-9)
        << "step " << step;
  }
  EXPECT_NEAR(warmup_cosine_lr(peak, warmup - 1, warmup, total), peak, 1e-15);  // the peak
}

// ---- augmentation -----------------------------------------------------------------------------

TEST_F(Augment, RandomCropMatchesPythonWithTheSameSeed) {
  torch::manual_seed(static_cast<uint64_t>(golden_.scalar("crop_seeded/inputs/seed")));
  const auto cropped =
      random_crop(golden_.tensor("crop_seeded/inputs/images"),
                  static_cast<int64_t>(golden_.scalar("crop_seeded/inputs/padding")),
                  golden_.scalar("crop_seeded/inputs/fill"));
  EXPECT_TRUE(AllClose(cropped, golden_.tensor("crop_seeded/outputs/cropped"), 0, 1e-6));
}

TEST_F(Augment, RandomCropShiftsEachImageByUpToThePadding) {
  const int64_t padding = 2, count = 400;
  const auto images = stripes(count, /*channels=*/2, /*size=*/10) + 2.0;  // no pixel is -1
  const auto cropped = random_crop(images, padding, /*fill=*/-1.0);
  ASSERT_EQ(cropped.sizes(), images.sizes());
  const auto padded = torch::constant_pad_nd(images, {padding, padding, padding, padding}, -1.0);
  std::set<std::pair<int64_t, int64_t>> offsets;
  for (int64_t i = 0; i < count; ++i) {
    // Image i is a window of its own padded image (so its label still fits), not of another's.
    const auto found = windows_of(cropped[i], padded[i], padding, /*mirrored=*/false);
    ASSERT_FALSE(found.empty()) << "image " << i << " is no shifted copy of itself";
    offsets.insert(found.front());
    EXPECT_TRUE(windows_of(cropped[i], padded[(i + 1) % count], padding, false).empty());
  }
  EXPECT_EQ(offsets.size(), 25u);  // every shift from -2 to +2 in y and x turns up
  EXPECT_TRUE(torch::equal(random_crop(images, /*padding=*/0, -1.0), images));
}

TEST_F(Augment, KeepsShapesAndPairsEachImageWithItsOwnLabel) {
  Config config;  // crop padding 2 and flips, as training uses them
  const auto images = stripes(64);
  const auto labels = torch::arange(64) % 10;
  const auto augmented = augment(images, config);
  EXPECT_EQ(augmented.sizes(), images.sizes());
  EXPECT_EQ(augmented.dtype(), images.dtype());
  const auto padded = torch::constant_pad_nd(images, {2, 2, 2, 2}, kBlack);
  int mirrored = 0, shifted = 0;
  for (int64_t i = 0; i < 64; ++i) {
    // Still image i, so labels[i] is still its label: shifted, and mirrored or not.
    const bool plain = !windows_of(augmented[i], padded[i], 2, /*mirrored=*/false).empty();
    const bool flipped = !windows_of(augmented[i], padded[i], 2, /*mirrored=*/true).empty();
    EXPECT_TRUE(plain || flipped) << "image " << i << " (label " << labels[i].item<int64_t>()
                                  << ") is no longer a copy of itself";
    mirrored += flipped && !plain;
    shifted +=
        !torch::equal(augmented[i], images[i]) && !torch::equal(augmented[i], images[i].flip({2}));
  }
  EXPECT_GT(mirrored, 16);  // about half of 64
  EXPECT_LT(mirrored, 48);
  EXPECT_GT(shifted, 40);  // 24 of 25 offsets move the image
  // The pixels shifted in are black, as the dataset's background: (0 - mean) / std.
  EXPECT_NEAR(kBlack, -0.810198, 1e-6);
  EXPECT_NEAR(augment(torch::full({256, 1, 28, 28}, 5.0), config).min().item<double>(), kBlack,
              1e-6);
  config.crop_padding = 0;
  config.flip = false;
  EXPECT_TRUE(torch::equal(augment(images, config), images));  // both off: unchanged
}

TEST_F(Augment, FlipsMirrorAboutHalfTheImages) {
  const auto images = stripes(64);
  const auto flipped = random_flip(images);
  int mirrored = 0;
  for (int64_t i = 0; i < 64; ++i) {
    if (torch::equal(flipped[i], images[i].flip({2}))) {
      ++mirrored;
    } else {
      EXPECT_TRUE(torch::equal(flipped[i], images[i])) << "image " << i;
    }
  }
  EXPECT_GT(mirrored, 16);
  EXPECT_LT(mirrored, 48);
}

// ---- the best epoch and time-to-accuracy --------------------------------------------------------

TEST_F(Checkpoint, SavesOnlyABetterEpochAndLoadsBackTheSameModel) {
  const course::ResNetOptions options =
      course::ResNetOptions().stem_channels(4).channels({4, 8}).blocks(1);
  course::ResNet model(options);
  model->forward(stripes(8));  // running statistics other than 0 and 1
  const auto path = dir_ / "best.pt";
  double best = 0;
  EXPECT_TRUE(save_if_best(model, 0.5, best, path));
  EXPECT_EQ(best, 0.5);
  ASSERT_TRUE(fs::exists(path));
  model->eval();
  const auto saved_logits = model->forward(stripes(3)).detach();
  // A worse or equal epoch leaves the file alone, even though the model has changed since.
  {
    torch::NoGradGuard no_grad;
    model->head->bias.add_(1.0);
  }
  const std::string saved = read_bytes(path);
  EXPECT_FALSE(save_if_best(model, 0.4, best, path));
  EXPECT_FALSE(save_if_best(model, 0.5, best, path));
  EXPECT_EQ(best, 0.5);
  EXPECT_EQ(read_bytes(path), saved);
  // A fresh model of the same shape, loaded from the file: the saved weights and statistics.
  course::ResNet reloaded(options);
  torch::load(reloaded, path.string());
  reloaded->eval();
  EXPECT_TRUE(torch::equal(reloaded->forward(stripes(3)), saved_logits));
  EXPECT_TRUE(torch::equal(reloaded->stem_bn->running_mean, model->stem_bn->running_mean));
  // A better epoch overwrites it.
  EXPECT_TRUE(save_if_best(model, 0.6, best, path));
  torch::load(reloaded, path.string());
  EXPECT_TRUE(torch::equal(reloaded->head->bias, model->head->bias));
}

TEST_F(Milestones, RecordTheFirstEpochThatReachesEachAccuracy) {
  std::vector<Milestone> milestones = {{0.92}, {0.93}};
  EXPECT_EQ(milestones[0].epoch, 0);
  EXPECT_TRUE(std::isnan(milestones[0].seconds));  // not reached: NaN in the RESULT line
  record_milestones(milestones, 1, 10.0, 0.915);
  EXPECT_EQ(milestones[0].epoch, 0);
  record_milestones(milestones, 2, 20.0, 0.92);  // reaching it exactly counts
  record_milestones(milestones, 3, 30.0, 0.919);
  record_milestones(milestones, 4, 40.0, 0.925);  // later epochs do not move it
  EXPECT_EQ(milestones[0].epoch, 2);
  EXPECT_EQ(milestones[0].seconds, 20.0);
  EXPECT_EQ(milestones[1].epoch, 0);
  record_milestones(milestones, 5, 50.0, 0.94);
  record_milestones(milestones, 6, 60.0, 0.95);
  EXPECT_EQ(milestones[1].epoch, 5);
  EXPECT_EQ(milestones[1].seconds, 50.0);
}
