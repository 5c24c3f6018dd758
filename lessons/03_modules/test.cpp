// test_03_modules.cpp: lesson 03's modules against Python (tests/golden/03_modules.json, written
// by lessons/03_modules/reference.py --golden), plus the promises that need no Python: train()
// and eval() differ under dropout, init_weights, save/load round trips, clear errors.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <sstream>
#include <string>

#include "golden.h"
#include "modules.h"

namespace {

using course::testing::AllClose;
using course::testing::Golden;
namespace modules = course::modules;

const Golden& golden() {
  static const Golden file("03_modules");
  return file;
}

int64_t golden_int(const std::string& path) {
  return static_cast<int64_t>(std::llround(golden().scalar(path)));
}

modules::TinyNetOptions golden_options(double dropout) {
  return modules::TinyNetOptions(golden_int("names/inputs/in_features"),
                                 golden_int("names/inputs/hidden"),
                                 golden_int("names/inputs/classes"))
      .blocks(golden_int("names/inputs/blocks"))
      .dropout(dropout);
}

/// A TinyNet with every parameter and buffer copied, by name, from the golden "model" case.
modules::TinyNet golden_model(double dropout) {
  modules::TinyNet model(golden_options(dropout));
  for (const auto& item : model->named_parameters()) {
    modules::set_tensor(*model, item.key(), golden().tensor("model/inputs/state/" + item.key()));
  }
  for (const auto& item : model->named_buffers()) {
    modules::set_tensor(*model, item.key(), golden().tensor("model/inputs/state/" + item.key()));
  }
  return model;
}

torch::Tensor golden_x() {
  return golden().tensor("model/inputs/x");
}
torch::Tensor golden_targets() {
  return golden().tensor("model/inputs/targets");
}

/// A fresh folder under the system's temp folder, removed when the object goes.
struct ScratchDir {
  std::filesystem::path path;
  ScratchDir() {
    const auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
    path = std::filesystem::temp_directory_path() / ("course_03_modules_" + std::to_string(stamp));
    std::filesystem::create_directories(path);
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
};

// PyTorch's own C++ tests seed in a fixture; so do we, for the modules' default init.
class Modules : public ::testing::Test {
 protected:
  void SetUp() override { torch::manual_seed(0); }
};

TEST_F(Modules, EvalForwardMatchesPython) {
  auto model = golden_model(/*dropout=*/0.0);
  model->eval();
  EXPECT_TRUE(AllClose(model->forward(golden_x(), "classify"),
                       golden().tensor("model/outputs/eval_classify"), 1e-5, 1e-5));
  EXPECT_TRUE(AllClose(model->forward(golden_x(), "regress"),
                       golden().tensor("model/outputs/eval_regress"), 1e-5, 1e-5));
}

TEST_F(Modules, TrainForwardMatchesPythonAndUpdatesRunningStatistics) {
  auto model = golden_model(/*dropout=*/0.0);  // no dropout: train() output is deterministic
  model->train();
  EXPECT_TRUE(AllClose(model->forward(golden_x(), "classify"),
                       golden().tensor("model/outputs/train_classify"), 1e-5, 1e-5));
  auto* norm = model->named_modules()["blocks.0.1"]->as<torch::nn::BatchNorm1d>();
  ASSERT_NE(norm, nullptr);
  EXPECT_TRUE(AllClose(norm->running_mean, golden().tensor("model/outputs/train_running_mean"),
                       1e-5, 1e-6));
  EXPECT_TRUE(
      AllClose(norm->running_var, golden().tensor("model/outputs/train_running_var"), 1e-5, 1e-6));
  EXPECT_EQ(norm->num_batches_tracked.item<int64_t>(),
            golden().tensor("model/outputs/train_num_batches_tracked").item<int64_t>());
}

TEST_F(Modules, ParameterBufferAndChildNamesMatchPythonInOrder) {
  modules::TinyNet model(golden_options(/*dropout=*/0.5));
  const auto parameters = model->named_parameters();
  ASSERT_EQ(static_cast<int64_t>(parameters.size()), golden_int("names/outputs/parameter_tensors"));
  for (size_t i = 0; i < parameters.size(); ++i) {
    const std::string path = "names/outputs/parameter_index/" + parameters[i].key();
    ASSERT_TRUE(golden().has(path)) << "Python has no parameter " << parameters[i].key();
    EXPECT_EQ(golden_int(path), static_cast<int64_t>(i)) << parameters[i].key();
  }
  const auto buffers = model->named_buffers();
  ASSERT_EQ(static_cast<int64_t>(buffers.size()), golden_int("names/outputs/buffer_tensors"));
  for (size_t i = 0; i < buffers.size(); ++i) {
    const std::string path = "names/outputs/buffer_index/" + buffers[i].key();
    ASSERT_TRUE(golden().has(path)) << "Python has no buffer " << buffers[i].key();
    EXPECT_EQ(golden_int(path), static_cast<int64_t>(i)) << buffers[i].key();
    EXPECT_FALSE(buffers[i].value().requires_grad()) << buffers[i].key();
  }
  const auto children = model->named_children();
  for (size_t i = 0; i < children.size(); ++i) {
    EXPECT_EQ(golden_int("names/outputs/child_index/" + children[i].key()),
              static_cast<int64_t>(i));
  }
  EXPECT_EQ(static_cast<int64_t>(model->modules().size()),
            golden_int("names/outputs/module_count"));
}

TEST_F(Modules, SummaryCountsEveryParameterLikePython) {
  modules::TinyNet model(golden_options(/*dropout=*/0.5));
  std::ostringstream text;
  const int64_t total = modules::summary(*model, text);
  EXPECT_EQ(total, golden_int("names/outputs/total_parameters"));
  for (const auto& item : model->named_parameters()) {
    EXPECT_NE(text.str().find(item.key()), std::string::npos) << item.key() << " not in summary";
  }
  EXPECT_NE(text.str().find("total: " + std::to_string(total) + " parameters"), std::string::npos)
      << text.str();
}

TEST_F(Modules, TwoAdamStepsMatchPython) {
  auto model = golden_model(/*dropout=*/0.0);
  model->train();
  torch::optim::Adam optimizer(model->parameters(),
                               torch::optim::AdamOptions(golden().scalar("adam/inputs/lr")));
  const double first = modules::train_step(model, optimizer, golden_x(), golden_targets());
  const double second = modules::train_step(model, optimizer, golden_x(), golden_targets());
  EXPECT_NEAR(first, golden().scalar("adam/outputs/loss_first"), 1e-5);
  EXPECT_NEAR(second, golden().scalar("adam/outputs/loss_second"), 1e-5);
  EXPECT_LT(second, first);
  // Not blocks.1.0.bias: before BatchNorm its gradient is ~0 and Adam's step there is
  // sign(rounding noise) * lr, which differs between LibTorch versions (see reference.py).
  for (const std::string name : {"stem.weight", "heads.classify.weight", "blocks.1.1.weight"}) {
    EXPECT_TRUE(AllClose(model->named_parameters()[name], golden().tensor("adam/outputs/" + name),
                         1e-4, 1e-5))
        << name;
  }
  const auto& state = static_cast<const torch::optim::AdamParamState&>(
      *optimizer.state().at(model->stem->weight.unsafeGetTensorImpl()));
  EXPECT_EQ(state.step(), golden_int("adam/inputs/steps"));
  EXPECT_TRUE(
      AllClose(state.exp_avg(), golden().tensor("adam/outputs/stem.weight.exp_avg"), 1e-4, 1e-6));
  EXPECT_TRUE(AllClose(state.exp_avg_sq(), golden().tensor("adam/outputs/stem.weight.exp_avg_sq"),
                       1e-4, 1e-8));
}

TEST_F(Modules, StandardizeFitMatchesPythonAndStaysOutOfParameters) {
  modules::Standardize norm(golden_x().size(1));
  norm->fit(golden().tensor("fit/inputs/x"));
  EXPECT_TRUE(AllClose(norm->mean, golden().tensor("fit/outputs/mean"), 1e-5, 1e-6));
  EXPECT_TRUE(AllClose(norm->stddev, golden().tensor("fit/outputs/stddev"), 1e-5, 1e-6));
  // fit() wrote into the registered buffers, not just into the members.
  EXPECT_TRUE(norm->named_buffers()["mean"].equal(norm->mean));
  EXPECT_TRUE(norm->parameters().empty());
  const auto standardized = norm->forward(golden_x());  // (B, F): mean 0, std 1 per column
  EXPECT_TRUE(AllClose(standardized.mean(0), torch::zeros({golden_x().size(1)}), 0, 1e-5));
}

TEST_F(Modules, DropoutMakesTrainOutputsDifferWhileEvalOutputsMatch) {
  auto model = golden_model(/*dropout=*/0.5);
  model->eval();  // first: a train() forward would move the batch norm running statistics
  const auto c = model->forward(golden_x(), "classify");
  const auto d = model->forward(golden_x(), "classify");
  EXPECT_TRUE(c.equal(d));
  // In eval() dropout is off: the output is Python's (made with p = 0), whatever p is here.
  EXPECT_TRUE(AllClose(c, golden().tensor("model/outputs/eval_classify"), 1e-5, 1e-5));
  model->train();
  const auto a = model->forward(golden_x(), "classify");
  const auto b = model->forward(golden_x(), "classify");
  EXPECT_FALSE(a.equal(b)) << "dropout in train() should draw a new mask each call";
}

TEST_F(Modules, InitWeightsGivesZeroBiasesAndXavierBoundedWeights) {
  modules::TinyNet model(golden_options(/*dropout=*/0.5));
  model->apply(modules::init_weights);
  int checked = 0;
  for (const auto& module : model->modules()) {
    torch::Tensor weight;
    torch::Tensor bias;
    if (auto* linear = module->as<torch::nn::Linear>()) {
      weight = linear->weight;
      bias = linear->bias;
    } else if (auto* affine = module->as<modules::Affine>()) {
      weight = affine->weight;
      bias = affine->bias;
    } else if (auto* norm = module->as<torch::nn::BatchNorm1d>()) {
      EXPECT_TRUE(norm->weight.equal(torch::ones_like(norm->weight)));
      EXPECT_TRUE(norm->bias.equal(torch::zeros_like(norm->bias)));
      ++checked;
      continue;
    } else {
      continue;
    }
    const double bound = std::sqrt(6.0 / static_cast<double>(weight.size(0) + weight.size(1)));
    EXPECT_LE(weight.abs().max().item<double>(), bound);
    EXPECT_GT(weight.abs().max().item<double>(), 0.0);
    EXPECT_TRUE(bias.equal(torch::zeros_like(bias)));
    EXPECT_TRUE(weight.is_leaf() && weight.requires_grad());
    ++checked;
  }
  EXPECT_EQ(checked, 1 + 2 * 2 + 2);  // stem, 2 x (Linear, BatchNorm1d), 2 heads
  EXPECT_TRUE(model->input_norm->mean.equal(torch::zeros({golden_x().size(1)})));  // buffers alone
}

TEST_F(Modules, SaveLoadRoundTripGivesIdenticalModelOptimizerAndNextStep) {
  const ScratchDir scratch;
  auto model = golden_model(/*dropout=*/0.5);
  model->train();
  torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(0.01));
  modules::train_step(model, optimizer, golden_x(), golden_targets());
  torch::save(model, (scratch.path / "model.pt").string());
  torch::save(optimizer, (scratch.path / "optimizer.pt").string());

  modules::TinyNet restored(golden_options(/*dropout=*/0.5));
  ASSERT_GT(modules::max_state_difference(*model, *restored), 0.0);  // really a different start
  torch::load(restored, (scratch.path / "model.pt").string());
  EXPECT_EQ(modules::max_state_difference(*model, *restored), 0.0);
  model->eval();
  restored->eval();
  EXPECT_TRUE(
      model->forward(golden_x(), "regress").equal(restored->forward(golden_x(), "regress")));

  // Same options, no state yet: only the state can make them differ.
  torch::optim::Adam restored_optimizer(restored->parameters(), torch::optim::AdamOptions(0.01));
  EXPECT_FALSE(modules::adam_states_equal(optimizer, restored_optimizer));
  torch::load(restored_optimizer, (scratch.path / "optimizer.pt").string());
  EXPECT_TRUE(modules::adam_states_equal(optimizer, restored_optimizer));
  // The options come from the file too.
  torch::optim::Adam other_lr(restored->parameters(), torch::optim::AdamOptions(1.0));
  torch::load(other_lr, (scratch.path / "optimizer.pt").string());
  EXPECT_DOUBLE_EQ(
      static_cast<torch::optim::AdamOptions&>(other_lr.param_groups()[0].options()).lr(), 0.01);

  // Resuming gives the very same next step (dropout masks seeded alike).
  model->train();
  restored->train();
  torch::manual_seed(7);
  modules::train_step(model, optimizer, golden_x(), golden_targets());
  torch::manual_seed(7);
  modules::train_step(restored, restored_optimizer, golden_x(), golden_targets());
  EXPECT_EQ(modules::max_state_difference(*model, *restored), 0.0);
  EXPECT_TRUE(modules::adam_states_equal(optimizer, restored_optimizer));
  // One more step on one side only: the comparison must notice.
  modules::train_step(model, optimizer, golden_x(), golden_targets());
  EXPECT_FALSE(modules::adam_states_equal(optimizer, restored_optimizer));
  EXPECT_GT(modules::max_state_difference(*model, *restored), 0.0);
}

TEST_F(Modules, LoadCheckedCatchesTheShapeChangeThatTorchLoadLetsThrough) {
  const ScratchDir scratch;
  const auto path = (scratch.path / "model.pt").string();
  auto model = golden_model(/*dropout=*/0.5);
  torch::save(model, path);

  const auto wider = golden_options(/*dropout=*/0.5).hidden(16);
  modules::TinyNet silently(wider);
  torch::load(silently, path);  // LibTorch swaps in the saved tensors without a shape check
  EXPECT_EQ(silently->stem->weight.sizes(), model->stem->weight.sizes());

  modules::TinyNet checked(wider);
  try {
    modules::load_checked(*checked, path);
    FAIL() << "expected load_checked to reject a hidden=16 model";
  } catch (const std::runtime_error& error) {
    EXPECT_NE(std::string(error.what()).find("'stem.weight' with shape [8, 4]"), std::string::npos)
        << error.what();
  }

  modules::TinyNet same(golden_options(/*dropout=*/0.5));
  modules::load_checked(*same, path);
  EXPECT_EQ(modules::max_state_difference(*model, *same), 0.0);
}

TEST_F(Modules, SetTensorRejectsUnknownNamesAndWrongShapesClearly) {
  modules::TinyNet model(golden_options(/*dropout=*/0.5));
  try {
    modules::set_tensor(*model, "stem.weights", torch::zeros({8, 4}));
    FAIL() << "expected an error for an unknown name";
  } catch (const std::invalid_argument& error) {
    EXPECT_NE(std::string(error.what()).find("stem.weight, stem.bias"), std::string::npos)
        << error.what();
  }
  EXPECT_THROW(modules::set_tensor(*model, "stem.weight", torch::zeros({4, 8})), c10::Error);
  modules::set_tensor(*model, "stem.bias", torch::full({8}, 2.0));
  EXPECT_TRUE(model->stem->bias.equal(torch::full({8}, 2.0)));
  EXPECT_TRUE(model->stem->bias.requires_grad());  // still a parameter
}

TEST_F(Modules, ForwardRejectsUnknownHeadsAndWrongShapesClearly) {
  modules::TinyNet model(golden_options(/*dropout=*/0.5));
  model->eval();
  try {
    model->forward(golden_x(), "segment");
    FAIL() << "expected an error for an unknown head";
  } catch (const c10::Error& error) {
    EXPECT_NE(std::string(error.what_without_backtrace()).find("classify, regress"),
              std::string::npos)
        << error.what_without_backtrace();
  }
  EXPECT_THROW(model->forward(torch::zeros({2, 5}), "classify"), c10::Error);
  EXPECT_THROW(modules::TinyNet(golden_options(/*dropout=*/1.0)), c10::Error);
}

TEST_F(Modules, ToDeviceMovesParametersAndBuffersAndKeepsOutputs_CUDA) {
  COURSE_REQUIRE_CUDA();
  auto model = golden_model(/*dropout=*/0.5);
  model->to(torch::kCUDA);
  for (const auto& parameter : model->parameters()) EXPECT_TRUE(parameter.is_cuda());
  for (const auto& buffer : model->buffers()) EXPECT_TRUE(buffer.is_cuda());
  model->eval();
  const auto out = model->forward(golden_x().to(torch::kCUDA), "classify");
  EXPECT_TRUE(out.is_cuda());
  EXPECT_TRUE(AllClose(out.cpu(), golden().tensor("model/outputs/eval_classify"), 1e-4, 1e-4));
}

}  // namespace
