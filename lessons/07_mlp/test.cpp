// Tests of lesson 07: the very functions main.cpp defines (the model of mlp.h, make_optimizer,
// train_step, evaluate, train_epoch, the split, what a checkpoint holds and the checks on load)
// against Python PyTorch (golden.json, from reference.py --golden).
#define COURSE_TESTING
#include "main.cpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "course/files.h"
#include "golden.h"
#include "scratch_dir.h"

namespace fs = std::filesystem;
using course::testing::AllClose;
using course::testing::error_of;
using course::testing::Golden;

namespace {

const Golden& golden() {
  static const Golden file("07_mlp");
  return file;
}

// Every test starts from the same seed and gets a fresh empty folder (dir_), removed afterwards.
class Mlp : public course::testing::ScratchDir {};
class MlpCheckpoint : public course::testing::ScratchDir {};

// The golden's small MLP: 16 -> 10 -> 8 -> 5.
course::Mlp small_mlp(double dropout, std::vector<int64_t> hidden = {10, 8}) {
  return course::Mlp(course::MlpOptions(16, std::move(hidden), 5).dropout(dropout));
}

// The small MLP with the weights Python stored under `case_name`.
course::Mlp golden_mlp(const std::string& case_name, double dropout) {
  auto model = small_mlp(dropout);
  torch::NoGradGuard no_grad;
  for (auto& parameter : model->named_parameters()) {
    parameter.value().copy_(golden().tensor(case_name + "/inputs/weights." + parameter.key()));
  }
  return model;
}

// A config for `optimizer` with the golden's settings (the same for all three).
Config golden_config(const std::string& optimizer) {
  const std::string c = "step_" + optimizer;
  Config config;
  config.optimizer = optimizer;
  config.lr = golden().scalar(c + "/inputs/lr");
  config.momentum = golden().scalar(c + "/inputs/momentum");
  config.weight_decay = golden().scalar(c + "/inputs/weight_decay");
  return config;
}

// (count, features) rows without a random stream; labels cycle through the 5 classes.
torch::Tensor fixed_rows(int64_t count, int64_t features = 16) {
  return torch::sin(torch::arange(count * features, torch::kFloat32) * 0.013)
      .view({count, features});
}
torch::Tensor fixed_labels(int64_t count) {
  return torch::arange(count, torch::kInt64) % 5;
}

// Training data of the small MLP: `count` fixed rows (validation and test sets are not used).
Data small_data(int64_t count) {
  Data data;
  data.x_train = fixed_rows(count) * 2.0;
  data.y_train = fixed_labels(count);
  return data;
}

Rows example_history(int64_t epochs) {
  Rows rows;
  for (int64_t epoch = 1; epoch <= epochs; ++epoch) {
    rows.push_back({static_cast<double>(epoch), 0.5, 0.8, 0.55, 0.78, 0.6, 0.75, 1e-3, 1.5, 1.2});
  }
  return rows;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

bool same_weights(const course::Mlp& a, const course::Mlp& b) {
  for (const auto& parameter : a->named_parameters()) {
    if (!torch::equal(parameter.value(), b->named_parameters()[parameter.key()])) return false;
  }
  return true;
}

}  // namespace

// ---- the model --------------------------------------------------------------------------------

TEST_F(Mlp, OutputShapesAndParameterNames) {
  course::Mlp model(Config().model);
  EXPECT_EQ(model->forward(torch::zeros({7, 784})).sizes(), (std::vector<int64_t>{7, 10}));
  EXPECT_EQ(model->forward(torch::zeros({3, 1, 28, 28})).sizes(), (std::vector<int64_t>{3, 10}));
  EXPECT_EQ(model->architecture(), "784-512-256-10");
  EXPECT_EQ(course::parameter_count(*model), 784 * 512 + 512 + 512 * 256 + 256 + 256 * 10 + 10);
  // The same names as Python's nn.ModuleList, so state_dicts line up.
  EXPECT_EQ(model->named_parameters().keys(),
            (std::vector<std::string>{"layers.0.weight", "layers.0.bias", "layers.1.weight",
                                      "layers.1.bias", "layers.2.weight", "layers.2.bias"}));
  EXPECT_EQ(small_mlp(0.0, {12})->architecture(), "16-12-5");
}

TEST_F(Mlp, ForwardInEvalModeMatchesPython) {
  auto model = golden_mlp("forward", /*dropout=*/0.2);
  model->eval();
  const auto logits = model->forward(golden().tensor("forward/inputs/x"));
  EXPECT_TRUE(AllClose(logits, golden().tensor("forward/outputs/logits"), 1e-5, 1e-6));
}

TEST_F(Mlp, DropoutActsOnlyWhileTraining) {
  course::Mlp model(course::MlpOptions(784, {256}, 10).dropout(0.5));
  const auto x = fixed_rows(8, 784);
  model->eval();
  EXPECT_TRUE(torch::equal(model->forward(x), model->forward(x)));  // deterministic
  model->train();
  EXPECT_FALSE(torch::equal(model->forward(x), model->forward(x)));  // new masks each call
}

// ---- evaluate ---------------------------------------------------------------------------------

TEST_F(Mlp, EvaluateUsesEvalModeAsPythonDoes) {
  // Dropout 0.5 and a model left in train() mode: only eval() inside evaluate gives Python's
  // numbers, and the same numbers twice.
  auto model = golden_mlp("evaluate", golden().scalar("evaluate/inputs/dropout"));
  model->train();
  const auto x = golden().tensor("evaluate/inputs/x");
  const auto y = golden().tensor("evaluate/inputs/y");
  const Score first = evaluate(model, x, y);
  EXPECT_NEAR(first.loss, golden().scalar("evaluate/outputs/loss"), 1e-5);
  EXPECT_NEAR(first.accuracy, golden().scalar("evaluate/outputs/accuracy"), 1e-7);
  EXPECT_TRUE(model->is_training());  // handed back ready to train
  const Score again = evaluate(model, x, y);
  EXPECT_EQ(first.loss, again.loss);
  EXPECT_EQ(first.accuracy, again.accuracy);
  // The same as a forward pass in eval mode, computed here.
  model->eval();
  const auto logits = model->forward(x);
  EXPECT_NEAR(first.loss, torch::nn::functional::cross_entropy(logits, y).item<double>(), 1e-6);
}

TEST_F(Mlp, EvaluateCoversEveryImageWhateverTheBatches) {
  auto model = small_mlp(0.0);
  const auto x = fixed_rows(1200) * 3.0;  // more than one evaluation batch (kEvalBatch = 1000)
  const auto y = fixed_labels(1200);
  const Score all = evaluate(model, x, y);
  const Score head = evaluate(model, x.slice(0, 0, 1000), y.slice(0, 0, 1000));
  const Score tail = evaluate(model, x.slice(0, 1000), y.slice(0, 1000));
  EXPECT_NEAR(all.loss, (1000 * head.loss + 200 * tail.loss) / 1200, 1e-6);
  EXPECT_NEAR(all.accuracy, (1000 * head.accuracy + 200 * tail.accuracy) / 1200, 1e-9);
  model->eval();
  const auto logits = model->forward(x);
  EXPECT_NEAR(all.accuracy, logits.argmax(1).eq(y).sum().item<double>() / 1200, 1e-9);
}

// ---- optimizers and the training step ---------------------------------------------------------

TEST_F(Mlp, TwoStepsOfEachOptimizerMatchPython) {
  for (const std::string name : {"sgd", "adam", "adamw"}) {
    SCOPED_TRACE(name);
    const std::string c = "step_" + name;
    auto model = golden_mlp(c, /*dropout=*/0.0);
    const auto optimizer = make_optimizer(model->parameters(), golden_config(name));
    const auto x = golden().tensor(c + "/inputs/x");
    const auto y = golden().tensor(c + "/inputs/y");
    const auto first = train_step(model, *optimizer, x, y);
    const auto second = train_step(model, *optimizer, x, y);  // uses momentum / moments
    EXPECT_NEAR(first.loss.item<double>(), golden().scalar(c + "/outputs/loss_1"), 1e-5);
    EXPECT_NEAR(second.loss.item<double>(), golden().scalar(c + "/outputs/loss_2"), 1e-5);
    EXPECT_FALSE(first.loss.requires_grad());  // detached: no graph kept alive
    for (const auto& parameter : model->named_parameters()) {
      EXPECT_TRUE(AllClose(parameter.value(),
                           golden().tensor(c + "/outputs/weights." + parameter.key()), 1e-4, 1e-6))
          << parameter.key();
    }
  }
}

TEST_F(Mlp, EachOptimizerNameBuildsItsOwnOptimizer) {
  auto model = small_mlp(0.0);
  Config config;
  config.lr = 0.02;
  config.optimizer = "sgd";
  const auto sgd = make_optimizer(model->parameters(), config);
  ASSERT_NE(dynamic_cast<torch::optim::SGD*>(sgd.get()), nullptr);
  const auto& sgd_options =
      static_cast<const torch::optim::SGDOptions&>(sgd->param_groups()[0].options());
  EXPECT_DOUBLE_EQ(sgd_options.momentum(), 0.9);
  EXPECT_DOUBLE_EQ(sgd_options.lr(), 0.02);
  config.optimizer = "adam";
  const auto adam = make_optimizer(model->parameters(), config);
  EXPECT_NE(dynamic_cast<torch::optim::Adam*>(adam.get()), nullptr);
  EXPECT_EQ(dynamic_cast<torch::optim::AdamW*>(adam.get()), nullptr);
  config.optimizer = "adamw";
  const auto adamw = make_optimizer(model->parameters(), config);
  ASSERT_NE(dynamic_cast<torch::optim::AdamW*>(adamw.get()), nullptr);
  EXPECT_DOUBLE_EQ(
      static_cast<const torch::optim::AdamWOptions&>(adamw->param_groups()[0].options())
          .weight_decay(),
      0.01);
  config.optimizer = "adagrad";
  const std::string message = error_of([&] { make_optimizer(model->parameters(), config); });
  EXPECT_TRUE(contains(message, "'adagrad'")) << message;
  EXPECT_TRUE(contains(message, "sgd, adam, adamw")) << message;
}

TEST_F(Mlp, LossFallsOnAFixedBatch) {
  course::Mlp model(course::MlpOptions(784, {64}, 10));
  Config config;
  config.lr = 1e-3;
  const auto optimizer = make_optimizer(model->parameters(), config);  // AdamW
  // Each class gets its own wave: sample i, label i % 10, pixel j = sin(j * 0.02 * (label + 1) + i)
  const auto y = torch::arange(32, torch::kInt64).remainder(10);        // (32,)
  const auto pixel = torch::arange(784, torch::kFloat32).unsqueeze(0);  // (1, 784)
  const auto x = torch::sin(pixel * 0.02 * (y.unsqueeze(1) + 1).to(torch::kFloat32) +
                            torch::arange(32, torch::kFloat32).unsqueeze(1));  // (32, 784)
  const double first = train_step(model, *optimizer, x, y).loss.item<double>();
  double last = first;
  for (int step = 0; step < 20; ++step)
    last = train_step(model, *optimizer, x, y).loss.item<double>();
  EXPECT_GT(first, 1.5);  // about ln(10) = 2.3 at the start
  EXPECT_LT(last, 0.5 * first) << "first " << first << " last " << last;
}

// ---- the schedule and an epoch ----------------------------------------------------------------

TEST_F(Mlp, CosineScheduleMatchesCosineAnnealingLR) {
  const auto expected = golden().tensor("schedule/outputs/lr");
  const double base_lr = golden().scalar("schedule/inputs/base_lr");
  const auto total = static_cast<int64_t>(golden().scalar("schedule/inputs/total_steps"));
  std::vector<double> lrs;
  for (int64_t step = 0; step <= total; ++step)
    lrs.push_back(course::cosine_lr(base_lr, step, total));
  EXPECT_TRUE(AllClose(torch::tensor(lrs, torch::kFloat64), expected, 1e-6, 1e-9));
}

TEST_F(Mlp, AnEpochFollowsTheCosineScheduleInTrainMode) {
  const Data data = small_data(20);
  Config config;
  config.batch_size = 8;  // 3 steps: 8 + 8 + 4
  config.lr = 0.01;
  auto model = small_mlp(0.2);
  model->eval();  // as a careless caller might leave it
  const auto optimizer = make_optimizer(model->parameters(), config);
  // Epoch 1 of 2: its last step is step 2 of the schedule's 6; epoch 2 ends at step 5.
  train_epoch(model, *optimizer, data, config, /*epoch=*/1, /*epochs=*/2);
  EXPECT_TRUE(model->is_training());
  EXPECT_NEAR(optimizer->param_groups()[0].options().get_lr(), course::cosine_lr(0.01, 2, 6),
              1e-12);
  const Score score = train_epoch(model, *optimizer, data, config, /*epoch=*/2, /*epochs=*/2);
  EXPECT_NEAR(optimizer->param_groups()[0].options().get_lr(), course::cosine_lr(0.01, 5, 6),
              1e-12);
  EXPECT_GT(score.loss, 0.5);  // an untrained model: about ln(5) = 1.6
  EXPECT_LT(score.loss, 3.0);
  EXPECT_GE(score.accuracy, 0.0);
  EXPECT_LE(score.accuracy, 1.0);
  // One Adam step per batch: the step count in the optimizer's state is 2 epochs x 3 steps.
  const auto& state = optimizer->state();
  ASSERT_FALSE(state.empty());
  EXPECT_EQ(static_cast<const torch::optim::AdamWParamState&>(*state.begin()->second).step(), 6);
}

TEST_F(Mlp, AnEpochSeesEveryImageOnce) {
  // SGD with lr 0 keeps the weights as they are, so the epoch's loss and accuracy must be those of
  // the whole set in one pass: an epoch that skips or repeats an image gives other numbers.
  const Data data = small_data(20);
  Config config;
  config.optimizer = "sgd";
  config.momentum = 0.0;
  config.lr = 0.0;
  config.batch_size = 7;  // 7 + 7 + 6
  course::Mlp model(course::MlpOptions(16, {}, 5).dropout(0.0));
  const auto optimizer = make_optimizer(model->parameters(), config);
  const Score score = train_epoch(model, *optimizer, data, config, /*epoch=*/1, /*epochs=*/1);
  const auto logits = model->forward(data.x_train);
  EXPECT_NEAR(score.loss, torch::nn::functional::cross_entropy(logits, data.y_train).item<double>(),
              1e-6);
  EXPECT_NEAR(score.accuracy, logits.argmax(1).eq(data.y_train).sum().item<double>() / 20, 1e-9);
}

TEST_F(Mlp, TheBestEpochIsTheFirstWithTheHighestValidationAccuracy) {
  EXPECT_EQ(best_epoch({0.5}), 1);
  EXPECT_EQ(best_epoch({0.5, 0.7, 0.6}), 2);
  EXPECT_EQ(best_epoch({0.5, 0.7, 0.7, 0.6}), 2);  // a tie is not a new best
  EXPECT_EQ(best_epoch({0.5, 0.6, 0.7}), 3);
  EXPECT_THROW(best_epoch({}), c10::Error);
}

// ---- the validation split ---------------------------------------------------------------------

TEST_F(Mlp, SplitMatchesPythonAndLeavesTheDefaultGeneratorAlone) {
  const auto split = split_train_val(100, 20, /*seed=*/7);
  EXPECT_TRUE(torch::equal(split.train, golden().tensor("split/outputs/train")));
  EXPECT_TRUE(torch::equal(split.validation, golden().tensor("split/outputs/validation")));
  const auto all = std::get<0>(torch::cat({split.train, split.validation}).sort());
  EXPECT_TRUE(torch::equal(all, torch::arange(100, torch::kInt64)));  // each index exactly once
  EXPECT_FALSE(torch::equal(split.validation, split_train_val(100, 20, 8).validation));
  // The split does not touch the default generator, so it does not shift the training run.
  torch::manual_seed(3);
  const auto before = torch::rand({4});
  torch::manual_seed(3);
  split_train_val(100, 20, 7);
  EXPECT_TRUE(torch::equal(before, torch::rand({4})));
  EXPECT_TRUE(contains(error_of([] { split_train_val(100, 0, 7); }), "--val-size 0 of 100"));
  EXPECT_TRUE(contains(error_of([] { split_train_val(100, 100, 7); }), "pick 1 to 99"));
}

// ---- checkpoints ------------------------------------------------------------------------------

TEST_F(MlpCheckpoint, SettingsNameEveryFlagThatChangesTheNumbers) {
  Config config;
  config.lr = 1e-3;
  course::Options options;
  options.epochs = 15;
  const std::string base = run_settings(config, options, 448);
  EXPECT_EQ(base,
            "optimizer=adamw lr=0.001 epochs=15 batch_size=128 dropout=0.2 train=448 seed=42");
  std::vector<std::string> others;
  auto changed = [&](auto change) {
    Config c = config;
    course::Options o = options;
    int64_t n = 448;
    change(c, o, n);
    return run_settings(c, o, n);
  };
  others.push_back(changed([](Config& c, course::Options&, int64_t&) { c.optimizer = "adam"; }));
  others.push_back(changed([](Config& c, course::Options&, int64_t&) { c.lr = 2e-3; }));
  others.push_back(changed([](Config& c, course::Options&, int64_t&) { c.batch_size = 64; }));
  others.push_back(changed([](Config& c, course::Options&, int64_t&) { c.model.dropout(0.3); }));
  others.push_back(changed([](Config&, course::Options& o, int64_t&) { o.epochs = 16; }));
  others.push_back(changed([](Config&, course::Options& o, int64_t&) { o.seed = 7; }));
  others.push_back(changed([](Config&, course::Options&, int64_t& n) { n = 447; }));
  for (const auto& other : others) EXPECT_NE(other, base);
}

TEST_F(MlpCheckpoint, RoundTripRestoresModelOptimizerHistoryAndGenerator) {
  const auto path = dir_ / "checkpoint.pt";
  const auto x = golden().tensor("step_adam/inputs/x");
  const auto y = golden().tensor("step_adam/inputs/y");
  auto model = small_mlp(0.0);
  const auto optimizer = make_optimizer(model->parameters(), golden_config("adam"));
  for (int step = 0; step < 3; ++step) train_step(model, *optimizer, x, y);
  save_checkpoint(path, model, *optimizer, example_history(3), "s", torch::kCPU);
  EXPECT_FALSE(fs::exists(path.string() + ".tmp"));
  const auto random_after_save = torch::rand({5});

  torch::manual_seed(123);  // a different start: other weights, another generator state
  auto restored = small_mlp(0.0);
  const auto restored_optimizer = make_optimizer(restored->parameters(), golden_config("adam"));
  ASSERT_FALSE(same_weights(model, restored));
  const Rows history = load_checkpoint(path, restored, *restored_optimizer, "s", torch::kCPU);
  EXPECT_EQ(history, example_history(3));
  EXPECT_TRUE(torch::equal(torch::rand({5}), random_after_save));  // generator restored
  EXPECT_TRUE(same_weights(model, restored));
  // Adam's moments and step count came back too: one more step gives the same weights on both.
  train_step(model, *optimizer, x, y);
  train_step(restored, *restored_optimizer, x, y);
  EXPECT_TRUE(same_weights(model, restored));
}

TEST_F(MlpCheckpoint, AResumedEpochEndsExactlyAsAnUninterruptedOne) {
  const auto path = dir_ / "checkpoint.pt";
  const Data data = small_data(40);
  Config config;
  config.batch_size = 8;
  config.lr = 0.01;
  // Uninterrupted: epochs 1 and 2 of 3, a checkpoint after epoch 1.
  auto model = small_mlp(0.3);  // dropout: masks from the default generator
  const auto optimizer = make_optimizer(model->parameters(), config);
  train_epoch(model, *optimizer, data, config, 1, 3);
  save_checkpoint(path, model, *optimizer, example_history(1), "s", torch::kCPU);
  const Score straight = train_epoch(model, *optimizer, data, config, 2, 3);

  // "Killed" after epoch 1: a new process would seed, build a fresh model, then resume.
  torch::manual_seed(0);
  auto resumed = small_mlp(0.3);
  const auto resumed_optimizer = make_optimizer(resumed->parameters(), config);
  load_checkpoint(path, resumed, *resumed_optimizer, "s", torch::kCPU);
  const Score again = train_epoch(resumed, *resumed_optimizer, data, config, 2, 3);
  EXPECT_EQ(again.loss, straight.loss);  // the same shuffle, masks and updates, to the bit
  EXPECT_EQ(again.accuracy, straight.accuracy);
  EXPECT_TRUE(same_weights(model, resumed));
}

TEST_F(MlpCheckpoint, OtherSettingsAreRefusedBeforeAnythingChanges) {
  const auto path = dir_ / "checkpoint.pt";
  auto model = small_mlp(0.0);
  const auto optimizer = make_optimizer(model->parameters(), golden_config("adamw"));
  save_checkpoint(path, model, *optimizer, example_history(1), "optimizer=adamw lr=0.01",
                  torch::kCPU);

  torch::manual_seed(5);
  auto other = small_mlp(0.0);
  const auto other_optimizer = make_optimizer(other->parameters(), golden_config("adamw"));
  const auto weights = other->named_parameters()["layers.0.weight"].clone();
  const auto generator = course::rng_state(torch::kCPU);
  const std::string message = error_of(
      [&] { load_checkpoint(path, other, *other_optimizer, "optimizer=sgd lr=0.1", torch::kCPU); });
  EXPECT_TRUE(contains(message, "has settings \"optimizer=adamw lr=0.01\"")) << message;
  EXPECT_TRUE(contains(message, "needs \"optimizer=sgd lr=0.1\"")) << message;
  EXPECT_TRUE(contains(message, "resume with the flags of that run")) << message;
  EXPECT_TRUE(contains(message, path.string())) << message;
  EXPECT_TRUE(torch::equal(weights, other->named_parameters()["layers.0.weight"]));
  EXPECT_TRUE(torch::equal(generator, course::rng_state(torch::kCPU)));
}

TEST_F(MlpCheckpoint, AnotherArchitectureIsRefused) {
  const auto path = dir_ / "checkpoint.pt";
  auto model = small_mlp(0.0, {10, 8});
  const auto optimizer = make_optimizer(model->parameters(), golden_config("adamw"));
  save_checkpoint(path, model, *optimizer, example_history(1), "s", torch::kCPU);
  auto wider = small_mlp(0.0, {12});
  const auto wider_optimizer = make_optimizer(wider->parameters(), golden_config("adamw"));
  const std::string message =
      error_of([&] { load_checkpoint(path, wider, *wider_optimizer, "s", torch::kCPU); });
  EXPECT_TRUE(contains(message, "has architecture \"16-10-8-5\"")) << message;
  EXPECT_TRUE(contains(message, "needs \"16-12-5\"")) << message;
  EXPECT_TRUE(contains(message, "--hidden")) << message;
}

TEST_F(MlpCheckpoint, AModelWithOtherWeightsOfTheSameWidthsIsRefused) {
  // A checkpoint whose labels say "16-10-8-5" but whose model is a single Linear layer: what a
  // changed model class would leave behind. Refused by name, before anything changes.
  const auto path = dir_ / "checkpoint.pt";
  torch::serialize::OutputArchive archive, model_archive, optimizer_archive;
  archive.write("format", c10::IValue(std::string(kCheckpointFormat)));
  archive.write("architecture", c10::IValue(std::string("16-10-8-5")));
  archive.write("settings", c10::IValue(std::string("s")));
  archive.write("history", course::rows_to_tensor(example_history(1)));
  archive.write("rng_cpu", course::rng_state(torch::kCPU));
  torch::nn::Linear(16, 5)->save(model_archive);
  archive.write("model", model_archive);
  archive.write("optimizer", optimizer_archive);
  course::save_atomically(archive, path);

  auto model = small_mlp(0.0);
  const auto optimizer = make_optimizer(model->parameters(), golden_config("adamw"));
  const auto weights = model->named_parameters()["layers.0.weight"].clone();
  const std::string message =
      error_of([&] { load_checkpoint(path, model, *optimizer, "s", torch::kCPU); });
  EXPECT_TRUE(contains(message, "has no layers.0.weight of shape [10, 16]")) << message;
  EXPECT_TRUE(torch::equal(weights, model->named_parameters()["layers.0.weight"]));
}

TEST_F(MlpCheckpoint, FilesThatAreNotOursAreRefusedWithWhatToDo) {
  auto model = small_mlp(0.0);
  const auto optimizer = make_optimizer(model->parameters(), golden_config("adamw"));
  const auto load = [&](const fs::path& path) {
    return error_of([&] { load_checkpoint(path, model, *optimizer, "s", torch::kCPU); });
  };
  // A readable checkpoint that is not one of this lesson: a bare model's archive.
  const auto bare = dir_ / "model.pt";
  torch::serialize::OutputArchive model_only;
  model->save(model_only);
  course::save_atomically(model_only, bare);
  EXPECT_TRUE(contains(load(bare), "has format \"(none)\"")) << load(bare);
  EXPECT_TRUE(contains(load(bare), "point --out at this lesson's output folder")) << load(bare);
  EXPECT_TRUE(contains(load(dir_ / "missing.pt"), "nothing to resume"));
  const auto damaged = dir_ / "checkpoint.pt";
  save_checkpoint(damaged, model, *optimizer, example_history(2), "s", torch::kCPU);
  fs::resize_file(damaged, fs::file_size(damaged) / 2);
  EXPECT_TRUE(contains(load(damaged), "is not a complete checkpoint")) << load(damaged);
}

TEST_F(MlpCheckpoint, ChangedBytesAreRefusedAsDamagedBeforeAnythingChanges) {
  // 64 random bytes in the weights: before the checksum, they loaded without a word.
  auto model = small_mlp(0.0);
  const auto optimizer = make_optimizer(model->parameters(), golden_config("adamw"));
  const auto path = dir_ / "checkpoint.pt";
  save_checkpoint(path, model, *optimizer, example_history(2), "s", torch::kCPU);
  std::string bytes = course::read_file(path);
  const auto noise = torch::randint(0, 256, {64}, torch::kUInt8);
  for (int64_t i = 0; i < 64; ++i) {
    bytes[bytes.size() / 2 + static_cast<size_t>(i)] = static_cast<char>(noise[i].item<uint8_t>());
  }
  course::write_file_atomically(path, bytes);
  auto fresh = small_mlp(0.3);
  const auto fresh_optimizer = make_optimizer(fresh->parameters(), golden_config("adamw"));
  const auto weights = fresh->named_parameters()["layers.0.weight"].clone();
  const std::string message =
      error_of([&] { load_checkpoint(path, fresh, *fresh_optimizer, "s", torch::kCPU); });
  EXPECT_TRUE(contains(message, path.string() + " is damaged")) << message;
  EXPECT_TRUE(torch::equal(weights, fresh->named_parameters()["layers.0.weight"]));
}
