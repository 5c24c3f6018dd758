// Tests of lesson 07: the MLP, its optimizers and schedule against Python PyTorch (the golden from
// lessons/07_mlp/reference.py --golden), the validation split, and the checkpoints.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "checkpoint.h"
#include "course/schedule.h"
#include "golden.h"
#include "mlp.h"
#include "scratch_dir.h"

namespace fs = std::filesystem;
namespace mlp = course::mlp;
using course::testing::AllClose;
using course::testing::Golden;

namespace {

const Golden& golden() {
  static const Golden file("07_mlp");
  return file;
}

// Every test starts from the same seed and gets a fresh empty folder, removed afterwards.
using SeededScratch = course::testing::ScratchDir;
class Mlp : public SeededScratch {};            // the model, optimizers, schedule and split
class MlpCheckpoint : public SeededScratch {};  // saving and restoring a run

// The golden's small MLP: 16 -> 10 -> 8 -> 5.
mlp::Mlp small_mlp(double dropout, std::vector<int64_t> hidden = {10, 8}) {
  return mlp::Mlp(mlp::MlpOptions(16, std::move(hidden), 5).dropout(dropout));
}

// Copies the golden case's stored weights into the model.
void load_golden_weights(mlp::Mlp& model, const std::string& case_name) {
  torch::NoGradGuard no_grad;
  for (auto& parameter : model->named_parameters()) {
    parameter.value().copy_(golden().tensor(case_name + "/inputs/weights." + parameter.key()));
  }
}

// A batch that is the same in every run: no random stream.
torch::Tensor fixed_images(int64_t batch) {
  return torch::sin(torch::arange(batch * 784, torch::kFloat32) * 0.013).view({batch, 784});
}

mlp::TrainingState example_state(int64_t epochs_done) {
  mlp::TrainingState state;
  state.epochs_done = epochs_done;
  state.best_val_acc = 0.5 + 0.1 * static_cast<double>(epochs_done);
  state.best_epoch = epochs_done;
  state.settings = "optimizer=adamw test";
  for (int64_t epoch = 1; epoch <= epochs_done; ++epoch) {
    state.history.push_back(
        {static_cast<double>(epoch), 0.5, 0.8, 0.6, 0.75, 1.5, 0.55, 0.78, 1e-3, 1.2});
  }
  return state;
}

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const std::runtime_error& error) {
    return error.what();
  }
  return "(no error)";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

// ---- the model --------------------------------------------------------------------------------

TEST_F(Mlp, OutputShapesAndParameterNames) {
  mlp::Mlp model(mlp::MlpOptions(784, {512, 256}, 10));
  EXPECT_EQ(model->forward(torch::zeros({7, 784})).sizes(), (std::vector<int64_t>{7, 10}));
  EXPECT_EQ(model->forward(torch::zeros({3, 1, 28, 28})).sizes(), (std::vector<int64_t>{3, 10}));
  EXPECT_EQ(model->architecture(), "784-512-256-10");
  int64_t count = 0;
  for (const auto& parameter : model->parameters()) count += parameter.numel();
  EXPECT_EQ(count, 784 * 512 + 512 + 512 * 256 + 256 + 256 * 10 + 10);
  // The same names as Python's nn.ModuleList, so state_dicts line up.
  const auto names = model->named_parameters().keys();
  EXPECT_EQ(names, (std::vector<std::string>{"layers.0.weight", "layers.0.bias", "layers.1.weight",
                                             "layers.1.bias", "layers.2.weight", "layers.2.bias"}));
}

TEST_F(Mlp, ForwardMatchesPython) {
  auto model = small_mlp(/*dropout=*/0.2);
  load_golden_weights(model, "forward");
  model->eval();
  const auto logits = model->forward(golden().tensor("forward/inputs/x"));
  EXPECT_TRUE(AllClose(logits, golden().tensor("forward/outputs/logits"), 1e-5, 1e-6));
}

TEST_F(Mlp, DropoutActsOnlyWhileTraining) {
  mlp::Mlp model(mlp::MlpOptions(784, {256}, 10).dropout(0.5));
  const auto x = fixed_images(8);
  model->eval();
  EXPECT_TRUE(torch::equal(model->forward(x), model->forward(x)));  // deterministic
  model->train();
  EXPECT_FALSE(torch::equal(model->forward(x), model->forward(x)));  // new masks each call
  // With p = 0 training and evaluation give the same output.
  mlp::Mlp no_dropout(mlp::MlpOptions(784, {256}, 10).dropout(0.0));
  const auto training = no_dropout->forward(x);
  no_dropout->eval();
  EXPECT_TRUE(torch::allclose(training, no_dropout->forward(x)));
}

TEST_F(Mlp, NormalizeImagesMatchesPython) {
  const auto x = mlp::normalize_images(golden().tensor("normalize/inputs/images"));
  EXPECT_EQ(x.sizes(), (std::vector<int64_t>{2, 784}));
  EXPECT_TRUE(AllClose(x, golden().tensor("normalize/outputs/x"), 1e-6, 1e-6));
  EXPECT_THROW(mlp::normalize_images(torch::zeros({2, 784})), c10::Error);
}

// ---- optimizers and schedule ------------------------------------------------------------------

TEST_F(Mlp, TrainingStepsMatchPythonForEachOptimizer) {
  for (const std::string name : {"sgd", "adam", "adamw"}) {
    SCOPED_TRACE(name);
    const std::string c = "step_" + name;
    auto model = small_mlp(/*dropout=*/0.0);
    load_golden_weights(model, c);
    mlp::OptimizerSettings settings;
    settings.name = name;
    settings.lr = golden().scalar(c + "/inputs/lr");
    settings.momentum = golden().scalar(c + "/inputs/momentum");
    settings.weight_decay = golden().scalar(c + "/inputs/weight_decay");
    auto optimizer = mlp::make_optimizer(model->parameters(), settings);
    const auto x = golden().tensor(c + "/inputs/x");
    const auto y = golden().tensor(c + "/inputs/y");
    const auto first = mlp::train_step(model, *optimizer, x, y);
    const auto second = mlp::train_step(model, *optimizer, x, y);  // uses momentum / moments
    EXPECT_NEAR(first.loss.item<double>(), golden().scalar(c + "/outputs/loss_1"), 1e-5);
    EXPECT_NEAR(second.loss.item<double>(), golden().scalar(c + "/outputs/loss_2"), 1e-5);
    EXPECT_LT(second.loss.item<double>(), first.loss.item<double>());
    for (const auto& parameter : model->named_parameters()) {
      EXPECT_TRUE(AllClose(parameter.value(),
                           golden().tensor(c + "/outputs/weights." + parameter.key()), 1e-4, 1e-6))
          << parameter.key();
    }
  }
}

TEST_F(Mlp, UnknownOptimizerIsRefusedWithTheKnownNames) {
  auto model = small_mlp(0.0);
  mlp::OptimizerSettings settings;
  settings.name = "adagrad";
  try {
    mlp::make_optimizer(model->parameters(), settings);
    FAIL() << "expected an error";
  } catch (const std::invalid_argument& error) {
    EXPECT_TRUE(contains(error.what(), "sgd, adam, adamw")) << error.what();
  }
}

TEST_F(Mlp, CosineScheduleMatchesCosineAnnealingLR) {
  const auto expected = golden().tensor("schedule/outputs/lr");
  const double base_lr = golden().scalar("schedule/inputs/base_lr");
  const auto total = static_cast<int64_t>(golden().scalar("schedule/inputs/total_steps"));
  std::vector<double> lrs;
  for (int64_t step = 0; step <= total; ++step)
    lrs.push_back(course::cosine_lr(base_lr, step, total));
  EXPECT_TRUE(AllClose(torch::tensor(lrs, torch::kFloat64), expected, 1e-6, 1e-9));
}

TEST_F(Mlp, SetLrChangesTheOptimizer) {
  auto model = small_mlp(0.0);
  auto optimizer = mlp::make_optimizer(model->parameters(), {});
  EXPECT_DOUBLE_EQ(optimizer->param_groups().front().options().get_lr(), 1e-3);
  course::set_lr(*optimizer, 0.25);
  EXPECT_DOUBLE_EQ(optimizer->param_groups().front().options().get_lr(), 0.25);
}

TEST_F(Mlp, LossDecreasesOnAFixedBatch) {
  mlp::Mlp model(mlp::MlpOptions(784, {512, 256}, 10));
  auto optimizer = mlp::make_optimizer(model->parameters(), {});  // AdamW, lr 1e-3
  // Each class gets its own wave: sample i, label i % 10, pixel j = sin(j * 0.02 * (label + 1) +
  // i).
  const auto y = torch::arange(32, torch::kInt64).remainder(10);        // (32,)
  const auto pixel = torch::arange(784, torch::kFloat32).unsqueeze(0);  // (1, 784)
  const auto x = torch::sin(pixel * 0.02 * (y.unsqueeze(1) + 1).to(torch::kFloat32) +
                            torch::arange(32, torch::kFloat32).unsqueeze(1));  // (32, 784)
  const double first = mlp::train_step(model, *optimizer, x, y).loss.item<double>();
  double last = first;
  for (int step = 0; step < 20; ++step)
    last = mlp::train_step(model, *optimizer, x, y).loss.item<double>();
  EXPECT_LT(last, 0.5 * first) << "first " << first << " last " << last;
}

// ---- validation split -------------------------------------------------------------------------

TEST_F(Mlp, SplitIsADisjointCoverAndRepeatable) {
  const auto split = mlp::split_train_val(100, 20, /*seed=*/7);
  EXPECT_EQ(split.train.size(0), 80);
  EXPECT_EQ(split.validation.size(0), 20);
  const auto all = std::get<0>(torch::cat({split.train, split.validation}).sort());
  EXPECT_TRUE(torch::equal(all, torch::arange(100, torch::kInt64)));  // each index exactly once
  EXPECT_TRUE(torch::equal(split.validation, mlp::split_train_val(100, 20, 7).validation));
  EXPECT_FALSE(torch::equal(split.validation, mlp::split_train_val(100, 20, 8).validation));
  // The split does not touch the default generator, so it does not shift the training run.
  torch::manual_seed(3);
  const auto before = torch::rand({4});
  torch::manual_seed(3);
  mlp::split_train_val(100, 20, 7);
  EXPECT_TRUE(torch::equal(before, torch::rand({4})));
  EXPECT_THROW(mlp::split_train_val(100, 0, 7), std::invalid_argument);
  EXPECT_THROW(mlp::split_train_val(100, 100, 7), std::invalid_argument);
}

// ---- checkpoints ------------------------------------------------------------------------------

TEST_F(MlpCheckpoint, RoundTripRestoresModelOptimizerStateAndRng) {
  const auto path = dir_ / "checkpoint.pt";
  const auto x = golden().tensor("step_adam/inputs/x");
  const auto y = golden().tensor("step_adam/inputs/y");
  auto model = small_mlp(0.0);
  auto optimizer = mlp::make_optimizer(model->parameters(), {});
  for (int step = 0; step < 3; ++step) mlp::train_step(model, *optimizer, x, y);
  const auto saved_state = example_state(3);
  mlp::save_checkpoint(path, model, *optimizer, saved_state, torch::kCPU);
  EXPECT_FALSE(fs::exists(path.string() + ".tmp"));
  const auto random_after_save = torch::rand({5});

  torch::manual_seed(123);  // a different start: different weights, different generator state
  auto restored = small_mlp(0.0);
  auto restored_optimizer = mlp::make_optimizer(restored->parameters(), {});
  const auto state =
      mlp::load_checkpoint(path, restored, *restored_optimizer, saved_state.settings, torch::kCPU);
  EXPECT_EQ(state.epochs_done, 3);
  EXPECT_DOUBLE_EQ(state.best_val_acc, saved_state.best_val_acc);
  EXPECT_EQ(state.best_epoch, 3);
  EXPECT_EQ(state.history, saved_state.history);
  EXPECT_TRUE(torch::equal(torch::rand({5}), random_after_save));  // generator restored
  for (const auto& parameter : model->named_parameters()) {
    EXPECT_TRUE(torch::equal(parameter.value(), restored->named_parameters()[parameter.key()]))
        << parameter.key();
  }
  // Adam's moments came back too: one more step gives the same weights on both.
  mlp::train_step(model, *optimizer, x, y);
  mlp::train_step(restored, *restored_optimizer, x, y);
  for (const auto& parameter : model->named_parameters()) {
    EXPECT_TRUE(torch::equal(parameter.value(), restored->named_parameters()[parameter.key()]))
        << parameter.key();
  }
}

TEST_F(MlpCheckpoint, TruncatedFileIsRefusedAndChangesNothing) {
  const auto path = dir_ / "checkpoint.pt";
  auto model = small_mlp(0.0);
  auto optimizer = mlp::make_optimizer(model->parameters(), {});
  mlp::save_checkpoint(path, model, *optimizer, example_state(2), torch::kCPU);
  fs::resize_file(path, fs::file_size(path) / 2);

  auto other = small_mlp(0.0);
  auto other_optimizer = mlp::make_optimizer(other->parameters(), {});
  const auto before = other->named_parameters()["layers.0.weight"].clone();
  const std::string message = error_of([&] {
    mlp::load_checkpoint(path, other, *other_optimizer, "optimizer=adamw test", torch::kCPU);
  });
  EXPECT_TRUE(contains(message, "truncated or damaged")) << message;
  EXPECT_TRUE(contains(message, "without --resume")) << message;
  EXPECT_TRUE(torch::equal(before, other->named_parameters()["layers.0.weight"]));

  std::ofstream(path) << "not a checkpoint at all";
  EXPECT_TRUE(contains(
      error_of([&] { mlp::load_checkpoint(path, other, *other_optimizer, "x", torch::kCPU); }),
      "truncated or damaged"));
}

TEST_F(MlpCheckpoint, OneOfAnotherArchitectureIsRefused) {
  const auto path = dir_ / "checkpoint.pt";
  auto model = small_mlp(0.0, {10, 8});
  auto optimizer = mlp::make_optimizer(model->parameters(), {});
  mlp::save_checkpoint(path, model, *optimizer, example_state(1), torch::kCPU);

  auto wider = small_mlp(0.0, {12});
  auto wider_optimizer = mlp::make_optimizer(wider->parameters(), {});
  const std::string message = error_of([&] {
    mlp::load_checkpoint(path, wider, *wider_optimizer, "optimizer=adamw test", torch::kCPU);
  });
  EXPECT_TRUE(contains(message, "16-10-8-5")) << message;
  EXPECT_TRUE(contains(message, "16-12-5")) << message;
  EXPECT_TRUE(contains(message, "--hidden")) << message;
}

TEST_F(MlpCheckpoint, OneWithOtherSettingsOrFromElsewhereIsRefused) {
  const auto path = dir_ / "checkpoint.pt";
  auto model = small_mlp(0.0);
  auto optimizer = mlp::make_optimizer(model->parameters(), {});
  mlp::save_checkpoint(path, model, *optimizer, example_state(1), torch::kCPU);
  const std::string message = error_of(
      [&] { mlp::load_checkpoint(path, model, *optimizer, "optimizer=sgd test", torch::kCPU); });
  EXPECT_TRUE(contains(message, "optimizer=adamw test")) << message;
  EXPECT_TRUE(contains(message, "optimizer=sgd test")) << message;

  // A readable archive that is not a checkpoint of this lesson: a bare torch::save(model).
  const auto bare = dir_ / "model.pt";
  torch::save(model, bare.string());
  EXPECT_TRUE(
      contains(error_of([&] { mlp::load_checkpoint(bare, model, *optimizer, "x", torch::kCPU); }),
               "not a 07_mlp checkpoint"));
  EXPECT_TRUE(contains(error_of([&] {
                         mlp::load_checkpoint(dir_ / "missing.pt", model, *optimizer, "x",
                                              torch::kCPU);
                       }),
                       "nothing to resume"));
}

TEST_F(MlpCheckpoint, FailedWriteKeepsThePreviousCheckpoint) {
  const auto path = dir_ / "checkpoint.pt";
  auto model = small_mlp(0.0);
  auto optimizer = mlp::make_optimizer(model->parameters(), {});
  mlp::save_checkpoint(path, model, *optimizer, example_state(1), torch::kCPU);
  // Block the temporary file with a folder, so the next write fails half-way.
  fs::create_directories(path.string() + ".tmp/blocker");
  const std::string message = error_of(
      [&] { mlp::save_checkpoint(path, model, *optimizer, example_state(2), torch::kCPU); });
  EXPECT_TRUE(contains(message, "could not write the checkpoint")) << message;
  EXPECT_TRUE(contains(message, "unchanged")) << message;
  const auto state =
      mlp::load_checkpoint(path, model, *optimizer, "optimizer=adamw test", torch::kCPU);
  EXPECT_EQ(state.epochs_done, 1);  // the old, good checkpoint
}
