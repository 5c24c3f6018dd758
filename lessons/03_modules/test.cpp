// Lesson 03's tests: the very functions main.cpp defines (and the modules of tiny_net.h) against
// Python (golden.json, written by reference.py --golden), plus the promises that need no Python:
// train() and eval() differ, init_weights, the save/load round trip and its shape check.
#define COURSE_TESTING
#include "main.cpp"

#include <gtest/gtest.h>

#include <sstream>

#include "golden.h"
#include "scratch_dir.h"

using course::testing::AllClose;
using course::testing::Golden;

namespace {

const Golden& golden() {
  static const Golden file("03_modules");
  return file;
}

int64_t golden_int(const std::string& path) {
  return static_cast<int64_t>(std::llround(golden().scalar(path)));
}

course::TinyNetOptions golden_options(double dropout) {
  return course::TinyNetOptions(golden_int("names/inputs/in_features"),
                                golden_int("names/inputs/hidden"),
                                golden_int("names/inputs/classes"))
      .blocks(golden_int("names/inputs/blocks"))
      .dropout(dropout);
}

// A TinyNet with every parameter and buffer copied, by name, from the golden "model" case: this
// is how weights cross from Python to C++ (the two file formats differ).
course::TinyNet golden_model(double dropout) {
  course::TinyNet model(golden_options(dropout));
  torch::NoGradGuard no_grad;
  for (auto& item : state_dict(*model)) {
    item.value().copy_(golden().tensor("model/inputs/state/" + item.key()));
  }
  return model;
}

torch::Tensor golden_x() {
  return golden().tensor("model/inputs/x");
}
torch::Tensor golden_targets() {
  return golden().tensor("model/inputs/targets");
}

// Whether two Adam optimizers hold the same options and, parameter by parameter, the same step
// count and moments (exactly).
bool adam_states_equal(const torch::optim::Adam& a, const torch::optim::Adam& b) {
  const auto& params_a = a.param_groups().at(0).params();
  const auto& params_b = b.param_groups().at(0).params();
  if (params_a.size() != params_b.size() ||
      a.param_groups()[0].options().get_lr() != b.param_groups()[0].options().get_lr()) {
    return false;
  }
  for (size_t i = 0; i < params_a.size(); ++i) {
    // The state is keyed by the parameter's TensorImpl (Python: by the parameter itself).
    const auto found_a = a.state().find(params_a[i].unsafeGetTensorImpl());
    const auto found_b = b.state().find(params_b[i].unsafeGetTensorImpl());
    if ((found_a == a.state().end()) != (found_b == b.state().end())) return false;
    if (found_a == a.state().end()) continue;  // no gradient yet, no state
    const auto& state_a = static_cast<const torch::optim::AdamParamState&>(*found_a->second);
    const auto& state_b = static_cast<const torch::optim::AdamParamState&>(*found_b->second);
    if (state_a.step() != state_b.step() || !state_a.exp_avg().equal(state_b.exp_avg()) ||
        !state_a.exp_avg_sq().equal(state_b.exp_avg_sq())) {
      return false;
    }
  }
  return true;
}

// PyTorch's own C++ tests seed in a fixture; so do these, for the modules' default init.
class Modules : public ::testing::Test {
 protected:
  void SetUp() override { torch::manual_seed(0); }
};

// A fresh empty folder per test (dir_), removed afterwards; also seeds.
class Checkpoint : public course::testing::ScratchDir {};

}  // namespace

// ---- the model and its parts against Python -----------------------------------------------------

TEST_F(Modules, PredictUsesEvalModeAndMatchesPython) {
  auto model = golden_model(/*dropout=*/0.0);
  model->train();  // as a training step leaves it: predict must switch to eval() itself
  auto* norm = model->named_modules()["blocks.0.1"]->as<torch::nn::BatchNorm1d>();
  const auto tracked = norm->num_batches_tracked.item<int64_t>();
  const auto classify = predict(model, golden_x(), "classify");
  EXPECT_TRUE(AllClose(classify, golden().tensor("model/outputs/eval_classify"), 1e-5, 1e-5));
  EXPECT_TRUE(AllClose(predict(model, golden_x(), "regress"),
                       golden().tensor("model/outputs/eval_regress"), 1e-5, 1e-5));
  EXPECT_FALSE(model->is_training());
  EXPECT_EQ(norm->num_batches_tracked.item<int64_t>(), tracked);  // running statistics untouched
  EXPECT_FALSE(classify.requires_grad());                         // no autograd graph
}

TEST_F(Modules, TrainModeForwardMatchesPythonAndUpdatesRunningStatistics) {
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
  course::TinyNet model(golden_options(/*dropout=*/0.5));
  const auto parameters = model->named_parameters();
  ASSERT_EQ(static_cast<int64_t>(parameters.size()), golden_int("names/outputs/parameter_tensors"));
  for (size_t i = 0; i < parameters.size(); ++i) {
    const std::string path = "names/outputs/parameter_index/" + parameters[i].key();
    ASSERT_TRUE(golden().has(path)) << "Python has no parameter " << parameters[i].key();
    EXPECT_EQ(golden_int(path), static_cast<int64_t>(i)) << parameters[i].key();
    EXPECT_TRUE(parameters[i].value().requires_grad()) << parameters[i].key();
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
  ASSERT_EQ(children.size(), 4U);
  for (size_t i = 0; i < children.size(); ++i) {
    EXPECT_EQ(golden_int("names/outputs/child_index/" + children[i].key()),
              static_cast<int64_t>(i));
  }
  EXPECT_EQ(static_cast<int64_t>(model->modules().size()),
            golden_int("names/outputs/module_count"));
  // state_dict: every parameter, then every buffer.
  EXPECT_EQ(state_dict(*model).size(), parameters.size() + buffers.size());
}

TEST_F(Modules, SummaryCountsEveryParameterLikePython) {
  course::TinyNet model(golden_options(/*dropout=*/0.5));
  std::ostringstream text;
  const int64_t total = summary(*model, text);
  EXPECT_EQ(total, golden_int("names/outputs/total_parameters"));
  EXPECT_NE(text.str().find("  stem.weight              [8, 4]       32\n"), std::string::npos)
      << text.str();
  EXPECT_NE(text.str().find("  heads.regress.bias       [1]           1\n"), std::string::npos)
      << text.str();
  EXPECT_NE(text.str().find("  total: 252 parameters in 14 tensors\n"), std::string::npos)
      << text.str();
}

TEST_F(Modules, StandardizeFitMatchesPythonAndStaysOutOfParameters) {
  course::Standardize norm(golden_x().size(1));
  norm->fit(golden().tensor("fit/inputs/x"));
  EXPECT_TRUE(AllClose(norm->mean, golden().tensor("fit/outputs/mean"), 1e-5, 1e-6));
  EXPECT_TRUE(AllClose(norm->stddev, golden().tensor("fit/outputs/stddev"), 1e-5, 1e-6));
  // fit() wrote into the registered buffers, not just into the members.
  EXPECT_TRUE(norm->named_buffers()["mean"].equal(norm->mean));
  EXPECT_TRUE(norm->named_buffers()["stddev"].equal(norm->stddev));
  EXPECT_TRUE(norm->parameters().empty());
  const auto standardized = norm->forward(golden_x());  // (B, F): mean 0 per column
  EXPECT_TRUE(AllClose(standardized.mean(0), torch::zeros({golden_x().size(1)}), 0, 1e-5));
}

// ---- training, train() and eval() ---------------------------------------------------------------

TEST_F(Modules, TwoAdamStepsMatchPythonEvenFromEvalMode) {
  auto model = golden_model(/*dropout=*/0.0);
  model->eval();  // as predict() leaves it: train_step must switch to train() itself
  torch::optim::Adam optimizer(model->parameters(),
                               torch::optim::AdamOptions(golden().scalar("adam/inputs/lr")));
  const double first = train_step(model, optimizer, golden_x(), golden_targets());
  const double second = train_step(model, optimizer, golden_x(), golden_targets());
  EXPECT_NEAR(first, golden().scalar("adam/outputs/loss_first"), 1e-5);
  EXPECT_NEAR(second, golden().scalar("adam/outputs/loss_second"), 1e-5);
  EXPECT_TRUE(model->is_training());
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

TEST_F(Modules, TrainStepStopsOnANonFiniteLoss) {
  auto model = golden_model(/*dropout=*/0.0);
  torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(0.01));
  const auto before = model->stem->weight.clone();
  auto x = golden_x().clone();
  x[0][0] = std::nan("");
  try {
    train_step(model, optimizer, x, golden_targets());
    FAIL() << "expected an error for a NaN loss";
  } catch (const std::runtime_error& error) {
    EXPECT_NE(std::string(error.what()).find("lower the learning rate"), std::string::npos);
  }
  EXPECT_TRUE(model->stem->weight.equal(before));  // stopped before the step
}

TEST_F(Modules, DropoutMakesTrainOutputsDifferWhilePredictRepeats) {
  auto model = golden_model(/*dropout=*/0.5);
  const auto c = predict(model, golden_x(), "classify");
  EXPECT_TRUE(c.equal(predict(model, golden_x(), "classify")));
  // In eval() dropout is off: the output is Python's (made with p = 0), whatever p is here.
  EXPECT_TRUE(AllClose(c, golden().tensor("model/outputs/eval_classify"), 1e-5, 1e-5));
  model->train();
  const auto a = model->forward(golden_x(), "classify");
  const auto b = model->forward(golden_x(), "classify");
  EXPECT_FALSE(a.equal(b)) << "dropout in train() should draw a new mask each call";
}

TEST_F(Modules, InitWeightsGivesZeroBiasesUnitNormsAndXavierBoundedWeights) {
  auto model = golden_model(/*dropout=*/0.5);  // every weight, bias and norm scale from a sine
  model->apply(init_weights);
  int checked = 0;
  for (const auto& module : model->modules()) {
    torch::Tensor weight, bias;
    if (auto* linear = module->as<torch::nn::Linear>()) {
      weight = linear->weight;
      bias = linear->bias;
    } else if (auto* affine = module->as<course::Affine>()) {
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
    // Xavier's bound, not the default init's (1/sqrt(fan_in) = 0.35 for 8 inputs): filled well.
    EXPECT_GT(weight.abs().max().item<double>(), 0.5 * bound);
    EXPECT_TRUE(bias.equal(torch::zeros_like(bias)));
    EXPECT_TRUE(weight.is_leaf() && weight.requires_grad());
    ++checked;
  }
  EXPECT_EQ(checked, 1 + 2 * 2 + 2);  // stem, 2 x (Linear, BatchNorm1d), 2 heads
  // Buffers are not initialised: they keep what they held.
  EXPECT_TRUE(model->input_norm->mean.equal(golden().tensor("model/inputs/state/input_norm.mean")));
}

TEST_F(Modules, ForwardRejectsUnknownHeadsAndWrongShapesClearly) {
  course::TinyNet model(golden_options(/*dropout=*/0.5));
  try {
    predict(model, golden_x(), "segment");
    FAIL() << "expected an error for an unknown head";
  } catch (const c10::Error& error) {
    EXPECT_NE(std::string(error.what_without_backtrace()).find("its heads are classify, regress"),
              std::string::npos)
        << error.what_without_backtrace();
  }
  EXPECT_THROW(predict(model, torch::zeros({2, 5}), "classify"), c10::Error);
  EXPECT_THROW(course::TinyNet(golden_options(/*dropout=*/1.0)), c10::Error);
}

// ---- saving and loading -------------------------------------------------------------------------

TEST_F(Checkpoint, RoundTripGivesIdenticalModelOptimizerAndNextStep) {
  auto model = golden_model(/*dropout=*/0.5);
  torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(0.01));
  train_step(model, optimizer, golden_x(), golden_targets());
  save_checkpoint(model, optimizer, dir_);

  course::TinyNet restored(golden_options(/*dropout=*/0.5));
  ASSERT_GT(max_difference(*model, *restored), 0.0);  // really a different start
  torch::optim::Adam restored_optimizer(restored->parameters(), torch::optim::AdamOptions(1.0));
  EXPECT_FALSE(adam_states_equal(optimizer, restored_optimizer));
  load_checkpoint(restored, restored_optimizer, dir_);
  EXPECT_EQ(max_difference(*model, *restored), 0.0);
  EXPECT_TRUE(adam_states_equal(optimizer, restored_optimizer));  // the lr too: 0.01, not 1
  EXPECT_DOUBLE_EQ(restored_optimizer.param_groups()[0].options().get_lr(), 0.01);
  EXPECT_TRUE(
      predict(model, golden_x(), "regress").equal(predict(restored, golden_x(), "regress")));

  // Resuming gives the very same next step (dropout masks seeded alike).
  torch::manual_seed(7);
  train_step(model, optimizer, golden_x(), golden_targets());
  torch::manual_seed(7);
  train_step(restored, restored_optimizer, golden_x(), golden_targets());
  EXPECT_EQ(max_difference(*model, *restored), 0.0);
  EXPECT_TRUE(adam_states_equal(optimizer, restored_optimizer));
  // One more step on one side only: both comparisons notice.
  train_step(model, optimizer, golden_x(), golden_targets());
  EXPECT_FALSE(adam_states_equal(optimizer, restored_optimizer));
  EXPECT_GT(max_difference(*model, *restored), 0.0);
}

TEST_F(Checkpoint, LoadRefusesAModelBuiltWithOtherOptionsThatTorchLoadLetsThrough) {
  auto model = golden_model(/*dropout=*/0.5);
  torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(0.01));
  save_checkpoint(model, optimizer, dir_);
  const auto wider = golden_options(/*dropout=*/0.5).hidden(16);

  course::TinyNet silently(wider);
  torch::load(silently, (dir_ / "model.pt").string());  // LibTorch swaps in the saved tensors
  EXPECT_EQ(silently->stem->weight.sizes(), model->stem->weight.sizes());

  course::TinyNet checked(wider);
  torch::optim::Adam checked_optimizer(checked->parameters(), torch::optim::AdamOptions(1.0));
  try {
    load_checkpoint(checked, checked_optimizer, dir_);
    FAIL() << "expected load_checkpoint to refuse a hidden=16 model";
  } catch (const std::runtime_error& error) {
    EXPECT_NE(std::string(error.what())
                  .find("holds 'stem.weight' with shape [8, 4], but the model expects [16, 4]"),
              std::string::npos)
        << error.what();
  }
}

TEST_F(Checkpoint, MaxDifferenceSeesEveryParameterAndBuffer) {
  auto a = golden_model(/*dropout=*/0.5);
  auto b = golden_model(/*dropout=*/0.5);
  EXPECT_EQ(max_difference(*a, *b), 0.0);
  {
    torch::NoGradGuard no_grad;
    b->input_norm->stddev[2] += 0.25;  // a buffer
  }
  EXPECT_DOUBLE_EQ(max_difference(*a, *b), 0.25);
  {
    torch::NoGradGuard no_grad;
    b->heads->at<torch::nn::LinearImpl>("regress").bias[0] -= 0.5;  // the last parameter
  }
  EXPECT_DOUBLE_EQ(max_difference(*a, *b), 0.5);
  course::TinyNet other(golden_options(/*dropout=*/0.5).blocks(1));
  EXPECT_THROW(max_difference(*a, *other), c10::Error);  // other structure: a name is missing
}

TEST_F(Modules, ToDeviceMovesParametersAndBuffersAndKeepsOutputs_CUDA) {
  COURSE_REQUIRE_CUDA();
  auto model = golden_model(/*dropout=*/0.5);
  model->to(torch::kCUDA);
  for (const auto& parameter : model->parameters()) EXPECT_TRUE(parameter.is_cuda());
  for (const auto& buffer : model->buffers()) EXPECT_TRUE(buffer.is_cuda());
  const auto out = predict(model, golden_x().to(torch::kCUDA), "classify");
  EXPECT_TRUE(out.is_cuda());
  EXPECT_TRUE(AllClose(out.cpu(), golden().tensor("model/outputs/eval_classify"), 1e-4, 1e-4));
}
