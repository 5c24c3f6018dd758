// Tests of lesson 15: the very functions main.cpp defines (it is included below, without its
// main), against Python: the TorchScript modules export.py made from a model with fixed weights
// (their outputs are in golden.json), state_dicts read from and written for Python (a real
// C++ -> Python -> C++ round trip through reference.py), the refusals of a wrong file, and one
// fine-tuning step with the backbone frozen.
#define COURSE_TESTING
#include "main.cpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "golden.h"
#include "scratch_dir.h"

using course::testing::AllClose;
using course::testing::error_of;
using course::testing::Golden;

namespace {

// A fresh folder per test (dir_), a seeded generator, the golden file and export.py's folder.
class Interop : public course::testing::ScratchDir {
 protected:
  const Golden golden_{"15_torchscript_interop"};
  const fs::path models_{course::exported_dir("15_torchscript_interop")};
};
using TorchScript = Interop;
using Weights = Interop;
using Transfer = Interop;

// The fixed model of export.py (4-4 channels, 8 hidden, 5 classes), all zeros until loaded.
course::Cnn small_cnn() {
  return course::Cnn(
      course::CnnOptions().channels1(4).channels2(4).hidden(8).classes(5).dropout(0.0));
}

// small_cnn() with golden.json's copy of the fixed weights and batch-norm statistics.
course::Cnn golden_cnn(const Golden& golden) {
  auto model = small_cnn();
  torch::NoGradGuard no_grad;
  for (const auto& [name, tensor] : named_tensors(*model))
    tensor.copy_(golden.tensor("state/outputs/state/" + name));
  return model;
}

std::vector<torch::Tensor> backbone_tensors(course::Cnn& model) {  // copies, head left out
  std::vector<torch::Tensor> tensors;
  for (const auto& [name, tensor] : named_tensors(*model))
    if (!in_head(name)) tensors.push_back(tensor.detach().clone());
  return tensors;
}

}  // namespace

// ---- 1. TorchScript ----------------------------------------------------------------------------

TEST_F(TorchScript, ScriptedAndTracedModulesGivePythonsOutputs) {
  auto scripted = load_torchscript(models_ / "fixed_scripted.pt", torch::kCPU);
  auto traced = load_torchscript(models_ / "fixed_traced.pt", torch::kCPU);
  const auto pixels = golden_.tensor("torchscript/inputs/pixels");  // (3, 1, 28, 28)
  EXPECT_TRUE(
      AllClose(run(scripted, pixels), golden_.tensor("torchscript/outputs/scripted"), 1e-4, 1e-5));
  EXPECT_TRUE(
      AllClose(run(traced, pixels), golden_.tensor("torchscript/outputs/traced"), 1e-4, 1e-5));
  EXPECT_FALSE(scripted.is_training());  // load_torchscript hands it back in eval mode
  EXPECT_FALSE(run(scripted, pixels).requires_grad());  // run builds no autograd graph
}

TEST_F(TorchScript, TheTraceLostTheBranchThatTheScriptKept) {
  auto scripted = load_torchscript(models_ / "fixed_scripted.pt", torch::kCPU);
  auto traced = load_torchscript(models_ / "fixed_traced.pt", torch::kCPU);
  const auto pixels = golden_.tensor("torchscript/inputs/pixels");
  const auto negatives = 1 - pixels;  // mean above 0.5: the other branch
  const auto from_script = run(scripted, negatives);
  const auto from_trace = run(traced, negatives);
  EXPECT_TRUE(
      AllClose(from_script, golden_.tensor("torchscript/outputs/scripted_negatives"), 1e-4, 1e-5));
  EXPECT_TRUE(
      AllClose(from_trace, golden_.tensor("torchscript/outputs/traced_negatives"), 1e-4, 1e-5));
  EXPECT_TRUE(AllClose(from_script, run(scripted, pixels), 1e-4, 1e-5));  // inverted back
  EXPECT_GT((from_trace - from_script).abs().max().item<double>(), 1e-2);
}

TEST_F(TorchScript, AMissingFileSaysWhichCommandMakesIt) {
  const std::string error =
      error_of([&] { load_torchscript(dir_ / "classifier_scripted.pt", torch::kCPU); });
  EXPECT_NE(error.find((dir_ / "classifier_scripted.pt").string()), std::string::npos) << error;
  EXPECT_NE(error.find("./course build 15"), std::string::npos) << error;
  EXPECT_NE(error.find("export.py --out"), std::string::npos) << error;
}

// ---- 2. Weights --------------------------------------------------------------------------------

TEST_F(Weights, NamesFollowPythonsStateDictOrder) {
  const auto state = read_state_dict(models_ / "fixed_state.pt");  // Python's order
  const auto model = small_cnn();
  const auto tensors = named_tensors(*model);
  ASSERT_EQ(tensors.size(), state.size());
  size_t i = 0;
  for (const auto& entry : state) EXPECT_EQ(tensors[i++].first, entry.key());
  EXPECT_EQ(tensors[5].first, "bn1.num_batches_tracked");  // buffers count too
  torch::nn::Linear linear(2, 3);  // a module with parameters of its own: no prefix, no dot
  const auto own = named_tensors(*linear);
  ASSERT_EQ(own.size(), 2U);
  EXPECT_EQ(own[0].first, "weight");
  EXPECT_EQ(own[1].first, "bias");
}

TEST_F(Weights, PythonsStateDictLoadsIntoTheCppCnn) {
  auto model = small_cnn();
  load_state_dict(*model, read_state_dict(models_ / "fixed_state.pt"), "fixed_state.pt");
  for (const auto& [name, tensor] : named_tensors(*model))
    EXPECT_TRUE(AllClose(tensor, golden_.tensor("state/outputs/state/" + name), 1e-6, 1e-7))
        << name;
  EXPECT_EQ(model->bn2->num_batches_tracked.item<int64_t>(),
            golden_.tensor("state/outputs/state/bn2.num_batches_tracked").item<int64_t>());
}

TEST_F(Weights, CppStateDictReadsBackExactly) {
  auto model = golden_cnn(golden_);
  save_state_dict(*model, dir_ / "state.pt");
  const auto state = read_state_dict(dir_ / "state.pt");
  const auto tensors = named_tensors(*model);
  ASSERT_EQ(state.size(), tensors.size());
  for (const auto& [name, tensor] : tensors)
    EXPECT_TRUE(torch::equal(state.at(name), tensor)) << name;
}

TEST_F(Weights, RoundTripThroughPythonIsExact) {
  auto model = golden_cnn(golden_);
  {
    torch::NoGradGuard no_grad;  // other values than export.py's, so Python must really load them
    for (const auto& [name, tensor] : named_tensors(*model)) tensor.add_(1);
  }
  save_state_dict(*model, dir_ / "from_cpp.pt");
  const std::string command =
      fmt::format(R"("{}" "{}/15_torchscript_interop/reference.py" --roundtrip "{}" "{}")",
                  course::testing::torch_python(), course::testing::lessons_dir(),
                  (dir_ / "from_cpp.pt").string(), (dir_ / "from_python.pt").string());
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  auto back = small_cnn();
  load_state_dict(*back, read_state_dict(dir_ / "from_python.pt"), "from_python.pt");
  for (const auto& [name, tensor] : named_tensors(*back))
    EXPECT_TRUE(torch::equal(tensor, model->named_parameters().contains(name)
                                         ? model->named_parameters()[name]
                                         : model->named_buffers()[name]))
        << name;
}

TEST_F(Weights, AMissingKeyIsRefusedByName) {
  auto state = read_state_dict(models_ / "fixed_state.pt");
  ASSERT_EQ(state.erase("bn2.running_var"), 1U);
  auto model = small_cnn();
  const std::string error = error_of([&] { load_state_dict(*model, state, "fixed_state.pt"); });
  EXPECT_NE(error.find("fixed_state.pt has no 'bn2.running_var'"), std::string::npos) << error;
}

TEST_F(Weights, AWrongShapeIsRefusedByName) {
  const auto state = read_state_dict(models_ / "fixed_state.pt");  // a 5-class head
  course::Cnn model(course::CnnOptions().channels1(4).channels2(4).hidden(8).classes(10));
  const std::string error = error_of([&] { load_state_dict(*model, state, "fixed_state.pt"); });
  EXPECT_NE(error.find("'head.weight' has shape [5, 8] but the model's is [10, 8]"),
            std::string::npos)
      << error;
}

TEST_F(Weights, AnUnknownKeyIsRefusedByName) {
  auto state = read_state_dict(models_ / "fixed_state.pt");
  state.insert("head2.weight", torch::zeros({2}));
  auto model = small_cnn();
  const std::string error = error_of([&] { load_state_dict(*model, state, "fixed_state.pt"); });
  EXPECT_NE(error.find("has 'head2.weight', which the model does not have"), std::string::npos)
      << error;
}

TEST_F(Weights, AFileThatIsNoDictIsRefused) {
  const std::vector<char> bytes = torch::pickle_save(c10::IValue(torch::zeros({3})));
  course::write_file_atomically(dir_ / "tensor.pt", std::string_view(bytes.data(), bytes.size()));
  const std::string error = error_of([&] { read_state_dict(dir_ / "tensor.pt"); });
  EXPECT_NE(error.find("not a dict"), std::string::npos) << error;
  EXPECT_NE(error_of([&] { read_state_dict(dir_ / "none.pt"); }).find("./course build 15"),
            std::string::npos);
}

// ---- 3. Transfer learning ----------------------------------------------------------------------

TEST_F(Transfer, OneFrozenStepMatchesPythonAndLeavesTheBackboneAlone) {
  auto model = golden_cnn(golden_);
  const auto before = backbone_tensors(model);
  freeze_backbone(model, /*frozen=*/true);
  train_mode(model);
  torch::optim::Adam optimizer(
      model->head->parameters(),
      torch::optim::AdamOptions(golden_.scalar("finetune_step/inputs/lr")));
  for (auto& parameter : model->head->parameters())  // stale gradients: zero_grad must clear them
    parameter.mutable_grad() = torch::ones_like(parameter);
  const auto loss = train_step(model, optimizer, golden_.tensor("finetune_step/inputs/images"),
                               golden_.tensor("finetune_step/inputs/labels"));
  EXPECT_NEAR(loss.item<double>(), golden_.scalar("finetune_step/outputs/loss"), 1e-5);
  EXPECT_TRUE(AllClose(model->head->weight, golden_.tensor("finetune_step/outputs/head.weight"),
                       1e-5, 1e-6));
  EXPECT_TRUE(
      AllClose(model->head->bias, golden_.tensor("finetune_step/outputs/head.bias"), 1e-5, 1e-6));
  const auto after = backbone_tensors(model);
  for (size_t i = 0; i < before.size(); ++i)
    EXPECT_TRUE(torch::equal(before[i], after[i])) << i;  // weights and running statistics
  EXPECT_FALSE(model->conv1->weight.grad().defined());    // no gradient was even computed
}

TEST_F(Transfer, FreezingStopsGradientsAndBatchNormStatisticsUnfreezingRestoresThem) {
  auto model = small_cnn();
  freeze_backbone(model, /*frozen=*/true);
  train_mode(model);
  for (const auto& item : model->named_parameters())
    EXPECT_EQ(item.value().requires_grad(), in_head(item.key())) << item.key();
  EXPECT_FALSE(model->bn1->is_training());
  EXPECT_FALSE(model->bn2->is_training());
  EXPECT_TRUE(model->is_training());  // dropout and the rest still train
  EXPECT_TRUE(model->head->is_training());
  freeze_backbone(model, /*frozen=*/false);
  train_mode(model);
  for (const auto& item : model->named_parameters())
    EXPECT_TRUE(item.value().requires_grad()) << item.key();
  EXPECT_TRUE(model->bn1->is_training());
  EXPECT_TRUE(model->bn2->is_training());
}

TEST_F(Transfer, AFrozenEpochLeavesTheBackboneAloneAfterPredict) {
  auto model = golden_cnn(golden_);
  const auto x = golden_.tensor("finetune_step/inputs/images");
  const auto y = golden_.tensor("finetune_step/inputs/labels");
  freeze_backbone(model, /*frozen=*/true);
  predict(model, x);  // hands the model back in train(), batch norms included
  const auto before = backbone_tensors(model);
  torch::optim::Adam optimizer(model->head->parameters(), torch::optim::AdamOptions(1e-2));
  train_epoch(model, optimizer, x, y, /*batch_size=*/3);
  const auto after = backbone_tensors(model);
  for (size_t i = 0; i < before.size(); ++i) EXPECT_TRUE(torch::equal(before[i], after[i])) << i;
}

TEST_F(Transfer, ANewHeadReplacesTheOldOneAndLeavesTheBackbone) {
  auto model = golden_cnn(golden_);
  const auto before = backbone_tensors(model);
  const auto old_head = model->head->weight.detach().clone();
  replace_head(model, /*classes=*/3);
  EXPECT_EQ(model->head->weight.sizes(), (std::vector<int64_t>{3, 8}));
  EXPECT_EQ(model->named_parameters()["head.weight"].sizes(), (std::vector<int64_t>{3, 8}));
  EXPECT_EQ(predict(model, golden_.tensor("finetune_step/inputs/images")).size(1), 3);
  replace_head(model, /*classes=*/5);
  EXPECT_FALSE(torch::equal(model->head->weight, old_head));  // new random weights
  const auto after = backbone_tensors(model);
  for (size_t i = 0; i < before.size(); ++i) EXPECT_TRUE(torch::equal(before[i], after[i])) << i;
}

TEST_F(Transfer, EachStageTrainsItsOwnParametersAtItsOwnRate) {
  auto model = small_cnn();
  const Config config;
  auto head_only = stage_optimizer(model, /*frozen=*/true, config);
  ASSERT_EQ(head_only.param_groups().size(), 1U);
  EXPECT_EQ(head_only.param_groups()[0].params().size(), 2U);  // head.weight, head.bias
  EXPECT_TRUE(head_only.param_groups()[0].params()[0].is_same(model->head->weight));
  EXPECT_DOUBLE_EQ(head_only.param_groups()[0].options().get_lr(), config.head_lr);
  EXPECT_FALSE(model->conv1->weight.requires_grad());
  auto everything = stage_optimizer(model, /*frozen=*/false, config);
  EXPECT_EQ(everything.param_groups()[0].params().size(), model->parameters().size());
  EXPECT_DOUBLE_EQ(everything.param_groups()[0].options().get_lr(), config.full_lr);
  EXPECT_TRUE(model->conv1->weight.requires_grad());
}

TEST_F(Transfer, AnEpochLowersTheLossAndPredictUsesEvalMode) {
  auto model = golden_cnn(golden_);
  const auto x = golden_.tensor("finetune_step/inputs/images").repeat({4, 1, 1, 1});  // (24, ...)
  const auto y = golden_.tensor("finetune_step/inputs/labels").repeat({4});
  torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(1e-2));
  const double first = train_epoch(model, optimizer, x, y, /*batch_size=*/5);
  double last = first;
  for (int epoch = 0; epoch < 10; ++epoch) last = train_epoch(model, optimizer, x, y, 5);
  EXPECT_LT(last, 0.5 * first);
  const int64_t tracked = model->bn1->num_batches_tracked.item<int64_t>();
  EXPECT_EQ(tracked, golden_cnn(golden_)->bn1->num_batches_tracked.item<int64_t>() + 11 * 5);
  const auto logits = predict(model, x);  // (24, 5)
  EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{24, 5}));
  EXPECT_EQ(model->bn1->num_batches_tracked.item<int64_t>(), tracked);  // eval: no update
  EXPECT_TRUE(model->is_training());
  EXPECT_DOUBLE_EQ(accuracy(logits, logits.argmax(1)), 1.0);
  EXPECT_DOUBLE_EQ(accuracy(torch::eye(4), torch::tensor({0, 1, 0, 0})), 0.5);
}

TEST_F(Transfer, SelectClassesKeepsFiveClassesAndShiftsTheirLabels) {
  course::FashionMnist split{torch::arange(30 * 4, torch::kUInt8).reshape({30, 2, 2}),
                             torch::arange(30) % 10};
  const Task task = select_classes(split, /*first=*/5, /*limit=*/0);
  EXPECT_EQ(task.images.size(0), 15);
  EXPECT_TRUE(torch::equal(task.labels.slice(0, 0, 5), torch::arange(5)));
  EXPECT_TRUE(torch::equal(task.images[0], split.images[5]));
  EXPECT_EQ(select_classes(split, /*first=*/0, /*limit=*/4).labels.size(0), 4);
  const auto pixels = to_pixels(task.images);  // (15, 1, 2, 2) in [0, 1]
  EXPECT_EQ(pixels.sizes(), (std::vector<int64_t>{15, 1, 2, 2}));
  EXPECT_FLOAT_EQ(pixels[0][0][0][1].item<float>(), 21.0F / 255);
}
