// Tests of lesson 16: the very functions main.cpp defines (it is included below, without its
// main), on the files export.py made in the build tree: the AOTInductor package, the TorchScript
// module and the state_dict of one model with fixed weights, against Python's outputs
// (golden.json) at batch 1 and at a batch the export never saw; the latency statistics on cases
// computed by hand; the refusals of a missing file and of a torch.export.save .pt2.
#define COURSE_TESTING
#include "main.cpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "golden.h"
#include "scratch_dir.h"

using course::testing::AllClose;
using course::testing::error_of;
using course::testing::Golden;

namespace {

// A fresh folder per test (dir_), the golden file and export.py's folder.
class Aoti : public course::testing::ScratchDir {
 protected:
  const Golden golden_{"16_aot_inductor"};
  const fs::path models_{course::exported_dir("16_aot_inductor")};
};
using CompiledPackage = Aoti;
using ThreePaths = Aoti;
using Errors = Aoti;

}  // namespace

// ---- 1. The AOTInductor package ----------------------------------------------------------------

TEST_F(CompiledPackage, GivesPythonsOutputsAtBatchOneAndAtABatchExportNeverSaw) {
  auto package = load_package(models_ / "cnn.pt2");
  for (const std::string batch : {"batch1", "batch5"}) {  // export's example had batch 2
    const auto images = golden_.tensor(batch + "/inputs/images");
    const auto logits = run_package(*package, images);  // (B, 10)
    EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{images.size(0), 10})) << batch;
    EXPECT_TRUE(AllClose(logits, golden_.tensor(batch + "/outputs/logits"), 1e-4, 1e-5)) << batch;
  }
}

TEST_F(CompiledPackage, KnowsItsDeviceAndRunsWithoutAutograd) {
  auto package = load_package(models_ / "cnn.pt2");
  EXPECT_EQ(package_device(*package), torch::Device(torch::kCPU));
  const auto logits = run_package(*package, fixed_images(3));
  EXPECT_TRUE(logits.is_inference());
  EXPECT_FALSE(logits.requires_grad());
}

TEST_F(CompiledPackage, AnyBatchSizeInTheExportedRangeRuns) {
  auto package = load_package(models_ / "cnn.pt2");
  auto eager = load_eager(models_ / "cnn_state.pt", torch::kCPU);
  for (const int64_t batch : {1, 2, 3, 64, 100}) {
    const auto images = fixed_images(batch);
    EXPECT_TRUE(AllClose(run_package(*package, images), run_eager(eager, images), 1e-4, 1e-5))
        << batch;
  }
}

// ---- 2. Eager LibTorch and TorchScript on the same weights -------------------------------------

TEST_F(ThreePaths, FixedImagesAreExportPys) {
  EXPECT_TRUE(AllClose(fixed_images(5), golden_.tensor("batch5/inputs/images"), 1e-6, 1e-7));
}

TEST_F(ThreePaths, EagerAndTorchScriptGivePythonsOutputs) {
  auto eager = load_eager(models_ / "cnn_state.pt", torch::kCPU);
  auto scripted = load_torchscript(models_ / "cnn_scripted.pt", torch::kCPU);
  for (const std::string batch : {"batch1", "batch5"}) {
    const auto images = golden_.tensor(batch + "/inputs/images");
    const auto expected = golden_.tensor(batch + "/outputs/logits");
    EXPECT_TRUE(AllClose(run_eager(eager, images), expected, 1e-4, 1e-5)) << batch;
    EXPECT_TRUE(AllClose(run_torchscript(scripted, images), expected, 1e-4, 1e-5)) << batch;
  }
  EXPECT_FALSE(eager->is_training());    // load_eager hands it back in eval mode
  EXPECT_FALSE(scripted.is_training());  // export.py saved it in train mode on purpose
  EXPECT_TRUE(run_eager(eager, fixed_images(2)).is_inference());
  EXPECT_TRUE(run_torchscript(scripted, fixed_images(2)).is_inference());
}

TEST_F(ThreePaths, AgreeWithEachOtherAtBatch64) {
  auto package = load_package(models_ / "cnn.pt2");
  auto eager = load_eager(models_ / "cnn_state.pt", torch::kCPU);
  auto scripted = load_torchscript(models_ / "cnn_scripted.pt", torch::kCPU);
  const auto images = fixed_images(64);
  const auto reference = run_eager(eager, images);
  EXPECT_LT(largest_difference(run_package(*package, images), reference), 1e-4);
  EXPECT_LT(largest_difference(run_torchscript(scripted, images), reference), 1e-4);
  EXPECT_DOUBLE_EQ(largest_difference(torch::tensor({1.0, -2.0}), torch::tensor({0.5, 1.0})), 3.0);
}

// ---- 3. Latency statistics ---------------------------------------------------------------------

TEST(Latency, MedianAndP99OfHandComputedCases) {
  // Ten runs: sorted 1..10; the median is the mean of the 5th and 6th, 5.5; 99% of ten runs is
  // 9.9, so the 99th percentile is the 10th value (nearest rank: ceil(9.9) = 10), 10.
  const auto ten = latency_stats({7, 3, 9, 1, 5, 2, 8, 10, 4, 6});
  EXPECT_DOUBLE_EQ(ten.median_ms, 5.5);
  EXPECT_DOUBLE_EQ(ten.p99_ms, 10.0);
  const auto three = latency_stats({3, 1, 2});  // odd: the middle one; ceil(2.97) = 3rd
  EXPECT_DOUBLE_EQ(three.median_ms, 2.0);
  EXPECT_DOUBLE_EQ(three.p99_ms, 3.0);
  std::vector<double> many;  // 200 runs of 200, 199, ..., 1 ms: ceil(198) = the 198th, 198 ms
  for (int i = 200; i >= 1; --i) many.push_back(i);
  const auto stats = latency_stats(many);
  EXPECT_DOUBLE_EQ(stats.median_ms, 100.5);
  EXPECT_DOUBLE_EQ(stats.p99_ms, 198.0);
  EXPECT_DOUBLE_EQ(latency_stats({4}).p99_ms, 4.0);
  EXPECT_NE(error_of([] { latency_stats({}); }).find("at least one run"), std::string::npos);
}

TEST(Latency, TimeRunsWarmsUpThenTimesEachRunInMilliseconds) {
  int calls = 0;
  const auto ms = time_runs(
      [&] {
        ++calls;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      },
      /*warmup=*/3, /*runs=*/4);
  EXPECT_EQ(calls, 7);
  ASSERT_EQ(ms.size(), 4U);
  for (const double value : ms) {
    EXPECT_GE(value, 1.9);  // milliseconds, not seconds
    EXPECT_LT(value, 1000.0);
  }
}

// ---- 4. Errors that say what to do -------------------------------------------------------------

TEST_F(Errors, AMissingPackageSaysWhichCommandMakesIt) {
  const std::string error = error_of([&] { load_package(dir_ / "cnn.pt2"); });
  EXPECT_NE(error.find((dir_ / "cnn.pt2").string()), std::string::npos) << error;
  EXPECT_NE(error.find("./course build 16"), std::string::npos) << error;
  EXPECT_NE(error.find("export.py --out"), std::string::npos) << error;
  EXPECT_NE(
      error_of([&] { load_eager(dir_ / "cnn_state.pt", torch::kCPU); }).find("./course build 16"),
      std::string::npos);
}

TEST_F(Errors, ATorchExportSavePt2IsRefusedWithTheReason) {
  EXPECT_TRUE(is_aoti_package(models_ / "cnn.pt2"));
  EXPECT_FALSE(is_aoti_package(models_ / "cnn_exported.pt2"));  // torch.export.save's
  const std::string error = error_of([&] { load_package(models_ / "cnn_exported.pt2"); });
  EXPECT_NE(error.find("cnn_exported.pt2 is not an AOTInductor package"), std::string::npos)
      << error;
  EXPECT_NE(error.find("torch.export.save"), std::string::npos) << error;
  EXPECT_NE(error.find("aoti_compile_and_package"), std::string::npos) << error;
}

TEST_F(Errors, AStateDictWithoutATensorOfTheModelIsRefusedByName) {
  const std::string bytes = course::read_file(models_ / "cnn_state.pt");
  auto state = torch::pickle_load(std::vector<char>(bytes.begin(), bytes.end())).toGenericDict();
  ASSERT_EQ(state.erase("bn2.running_var"), 1U);
  const std::vector<char> saved = torch::pickle_save(c10::IValue(state));
  course::write_file_atomically(dir_ / "state.pt", std::string_view(saved.data(), saved.size()));
  const std::string error = error_of([&] { load_eager(dir_ / "state.pt", torch::kCPU); });
  EXPECT_NE(error.find("has no 'bn2.running_var'"), std::string::npos) << error;
  state.insert("bn2.running_var", torch::ones({64}));
  state.insert("extra.weight", torch::ones({2}));
  const std::vector<char> more = torch::pickle_save(c10::IValue(state));
  course::write_file_atomically(dir_ / "more.pt", std::string_view(more.data(), more.size()));
  EXPECT_NE(error_of([&] {
              load_eager(dir_ / "more.pt", torch::kCPU);
            }).find("tensors the model does not have"),
            std::string::npos);
}
