// Grades lesson 15's exercises against exercises/golden.json (written by exercises/golden.py).
// cmake/CourseExercises.cmake compiles this file twice: with the learner's exercise files on the
// include path, and with exercises/solutions/ instead. One test suite per exercise: Ex15_1, ...
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "08_cnn/cnn.h"
#include "15.1_check_state_dict.cpp"
#include "15.2_freeze_backbone.cpp"
#include "golden.h"

using course::testing::Golden;

namespace {
const Golden& golden() {
  static const Golden file("15_torchscript_interop/exercises");
  return file;
}

// Lesson 08's Cnn, narrow so that it builds in an instant: golden.py's WIDTHS.
course::Cnn small_cnn(int64_t classes) {
  return course::Cnn(course::CnnOptions().channels1(4).channels2(8).hidden(16).classes(classes));
}

// What Python's dict(model.state_dict()) holds: every parameter and buffer by its dotted name.
NamedTensors state_of(const torch::nn::Module& model) {
  NamedTensors state;
  for (const auto& item : model.named_parameters()) state.insert(item.key(), item.value());
  for (const auto& item : model.named_buffers()) state.insert(item.key(), item.value());
  return state;
}

std::vector<std::string> sorted(std::vector<std::string> names) {
  std::sort(names.begin(), names.end());
  return names;
}

int64_t values_in(const std::vector<torch::Tensor>& tensors) {
  int64_t total = 0;
  for (const auto& tensor : tensors) total += tensor.numel();
  return total;
}

// Eight images (8, 1, 28, 28) without a random stream.
torch::Tensor some_images() {
  return torch::sin(torch::arange(8 * 28 * 28, torch::kFloat32) * 0.01).view({8, 1, 28, 28});
}
}  // namespace

TEST(Ex15_1, AStateThatFitsHasNoProblems) {
  const auto model = small_cnn(5);
  const auto state = state_of(*small_cnn(5));  // another Cnn of the same shape
  ASSERT_EQ(static_cast<double>(state.size()), golden().scalar("check/outputs/entries"))
      << "(the grader's own check: the Cnn's state_dict has 16 entries, as in Python)";
  const auto check = check_state_dict(*model, state);
  EXPECT_TRUE(check.missing.empty()) << "nothing is missing from the state of the same model";
  EXPECT_TRUE(check.unexpected.empty())
      << "nothing in it is unexpected: running_mean, running_var and num_batches_tracked are "
         "the model's buffers, and a model's names are those of its parameters AND buffers";
  EXPECT_TRUE(check.mismatched.empty()) << "every shape fits";
}

TEST(Ex15_1, AnEmptyStateMissesEveryName) {
  const auto check = check_state_dict(*small_cnn(5), NamedTensors());
  EXPECT_EQ(static_cast<double>(check.missing.size()), golden().scalar("check/outputs/entries"))
      << "an empty state misses all 16 names of the model: 10 parameters and 6 buffers "
         "(named_buffers(): bn1.running_mean, bn1.running_var, bn1.num_batches_tracked, bn2...)";
}

TEST(Ex15_1, MissingBufferAndUnknownName) {
  auto state = state_of(*small_cnn(5));
  ASSERT_EQ(state.erase("bn1.running_var"), 1u) << "(the grader's own edit of the state)";
  state.insert("fc2.weight", torch::zeros({3, 3}));
  const auto check = check_state_dict(*small_cnn(5), state);
  EXPECT_EQ(sorted(check.missing), std::vector<std::string>{"bn1.running_var"})
      << "a state without bn1.running_var misses that buffer, and only that";
  EXPECT_EQ(static_cast<double>(check.missing.size()),
            golden().scalar("check/outputs/edited/missing"))
      << "Python's load_state_dict(strict=False) reports one missing key";
  EXPECT_EQ(sorted(check.unexpected), std::vector<std::string>{"fc2.weight"})
      << "fc2.weight is a name the model does not have: unexpected";
  EXPECT_TRUE(check.mismatched.empty()) << "the names both have keep their shapes";
}

TEST(Ex15_1, ANewHeadDoesNotFit) {
  const auto check = check_state_dict(*small_cnn(5), state_of(*small_cnn(10)));
  EXPECT_EQ(sorted(check.mismatched), (std::vector<std::string>{"head.bias", "head.weight"}))
      << "weights saved from a 10-class Cnn fit a 5-class Cnn except its head: head.weight "
         "(10, 16) against (5, 16) and head.bias (10) against (5)";
  EXPECT_EQ(static_cast<double>(check.mismatched.size()),
            golden().scalar("check/outputs/new_head_mismatched"))
      << "Python finds the same 2 shapes that differ";
  EXPECT_TRUE(check.missing.empty() && check.unexpected.empty())
      << "the names are all the same: a wrong shape is not a missing name";
}

TEST(Ex15_2, FrozenStageTrainsOnlyTheHead) {
  auto model = small_cnn(5);
  const auto trained = prepare_stage(model, /*frozen=*/true);
  EXPECT_EQ(static_cast<double>(values_in(trained)), golden().scalar("freeze/outputs/head_values"))
      << "stage 1 hands the optimizer the head's parameters only: 16 * 5 + 5 = 85 values";
  for (const auto& item : model->named_parameters()) {
    const bool in_head = item.key().rfind("head.", 0) == 0;
    EXPECT_EQ(item.value().requires_grad(), in_head)
        << item.key()
        << (in_head ? " is the head's: it keeps requires_grad true"
                    : " is the backbone's: frozen, requires_grad false");
  }
}

TEST(Ex15_2, FrozenBatchNormKeepsItsStatistics) {
  auto model = small_cnn(5);
  prepare_stage(model, /*frozen=*/true);
  EXPECT_TRUE(model->is_training() && model->head->is_training())
      << "stage 1 trains the head: the model is in train() (dropout on)";
  const auto mean1 = model->bn1->running_mean.clone(), var2 = model->bn2->running_var.clone();
  {
    torch::NoGradGuard no_grad;
    model->forward(some_images());  // a training step's forward pass
  }
  EXPECT_TRUE(model->bn1->running_mean.equal(mean1) && model->bn2->running_var.equal(var2))
      << "a forward pass in stage 1 must not move the frozen batch norms' running statistics: "
         "put bn1 and bn2 in eval() after model->train()";
}

TEST(Ex15_2, SecondStageTrainsEverything) {
  auto model = small_cnn(5);
  prepare_stage(model, /*frozen=*/true);
  const auto trained = prepare_stage(model, /*frozen=*/false);
  EXPECT_EQ(static_cast<double>(trained.size()), golden().scalar("freeze/outputs/tensors"))
      << "stage 2 hands the optimizer all 10 parameter tensors";
  EXPECT_EQ(static_cast<double>(values_in(trained)), golden().scalar("freeze/outputs/all_values"))
      << "stage 2 trains all 6721 values";
  for (const auto& item : model->named_parameters()) {
    EXPECT_TRUE(item.value().requires_grad()) << item.key() << " trains again in stage 2";
  }
  EXPECT_TRUE(model->bn1->is_training() && model->bn2->is_training())
      << "in stage 2 the batch norms train too: back in train(), after stage 1 set them to eval()";
  const auto mean1 = model->bn1->running_mean.clone();
  {
    torch::NoGradGuard no_grad;
    model->forward(some_images());
  }
  EXPECT_FALSE(model->bn1->running_mean.equal(mean1))
      << "in stage 2 a forward pass updates bn1's running statistics again";
}
