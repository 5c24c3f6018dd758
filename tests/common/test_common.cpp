// Unit tests of course::common: device parsing, dataset search, flags, metrics CSV, images, plots.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <opencv2/imgcodecs.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "course/data.h"
#include "course/device.h"
#include "course/flags.h"
#include "course/image.h"
#include "course/metrics.h"
#include "course/plot.h"
#include "course/seed.h"
#include "golden.h"
#include "scratch_dir.h"

namespace fs = std::filesystem;
using course::testing::AllClose;

namespace {

// A fresh empty folder per test, removed afterwards.
class TempDir : public course::testing::ScratchDir {};

}  // namespace

TEST(Device, ParsesCpuAndAuto) {
  EXPECT_EQ(course::choose_device("cpu"), torch::Device(torch::kCPU));
  const auto device = course::choose_device("auto");
  EXPECT_EQ(device.is_cuda(), torch::cuda::is_available());
}

TEST(Device, RejectsMalformedValues) {
  for (const char* bad : {"gpu", "cuda:", "cuda:x", "cuda0", "", "CPU"}) {
    EXPECT_THROW(course::choose_device(bad), std::invalid_argument) << bad;
  }
}

TEST(Device, CudaWithoutGpuSaysSo) {
  if (torch::cuda::is_available()) GTEST_SKIP() << "this machine has a GPU";
  try {
    course::choose_device("cuda");
    FAIL() << "expected an error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("--device cpu"), std::string::npos) << e.what();
  }
}

TEST(Device, PicksTheGpu_CUDA) {
  COURSE_REQUIRE_CUDA();
  EXPECT_TRUE(course::choose_device("auto").is_cuda());
  EXPECT_EQ(course::choose_device("cuda:0").index(), 0);
}

TEST(Seed, SameSeedSameNumbers) {
  course::seed_everything(7);
  const auto a = torch::randn({5});
  course::seed_everything(7);
  const auto b = torch::randn({5});
  EXPECT_TRUE(torch::equal(a, b));
}

TEST_F(TempDir, DatasetFoundThroughDataDir) {
  fs::create_directories(dir_ / "toy");
  std::ofstream(dir_ / "toy" / "a.bin") << "x";
  EXPECT_EQ(course::find_dataset("toy", dir_.string(), {"a.bin"}), dir_ / "toy");
  // The dataset folder itself is accepted too.
  EXPECT_EQ(course::find_dataset("toy", (dir_ / "toy").string(), {"a.bin"}), dir_ / "toy");
}

TEST_F(TempDir, MissingDatasetNamesTheFix) {
  try {
    course::find_dataset("fashion-mnist", dir_.string(), {"train-images-idx3-ubyte.gz"});
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("./course setup"), std::string::npos) << e.what();
  }
}

TEST(Dataset, MissingDataDirIsAnError) {
  EXPECT_THROW(course::find_dataset("toy", "/no/such/folder", {"a"}), std::runtime_error);
}

TEST_F(TempDir, EnvironmentVariableIsSearchedFirst) {
  fs::create_directories(dir_ / "toy");
  std::ofstream(dir_ / "toy" / "a.bin") << "x";
  ::setenv("COURSE_DATA_DIR", dir_.c_str(), 1);
  const auto found = course::find_dataset("toy", "", {"a.bin"});
  ::unsetenv("COURSE_DATA_DIR");
  EXPECT_EQ(found, dir_ / "toy");
}

TEST(Flags, ParsesTheSharedFlags) {
  course::Options defaults;
  defaults.epochs = 3;
  course::Flags flags("00_test", "test", defaults);
  int extra = 0;
  flags.app().add_option("--extra", extra);
  const char* argv[] = {"prog",    "--epochs", "5", "--device", "cpu",
                        "--smoke", "--seed",   "9", "--extra",  "4"};
  const auto& options = flags.parse(10, const_cast<char**>(argv));
  EXPECT_EQ(options.epochs, 5);
  EXPECT_EQ(options.device, "cpu");
  EXPECT_TRUE(options.smoke);
  EXPECT_EQ(options.seed, 9u);
  EXPECT_EQ(extra, 4);
}

TEST(Flags, UnknownFlagExitsWithTwo) {
  const auto parse_unknown = [] {
    course::Flags flags("00_test", "test");
    const char* argv[] = {"prog", "--no-such-flag"};
    flags.parse(2, const_cast<char**>(argv));
  };
  EXPECT_EXIT(parse_unknown(), ::testing::ExitedWithCode(2), "--no-such-flag");
}

TEST_F(TempDir, MetricsRoundTrip) {
  const auto path = dir_ / "metrics.csv";
  {
    course::MetricsLog log(path, {"epoch", "loss"});
    log.write({1, 0.5});
    log.write({2, 0.25});
    EXPECT_THROW(log.write({3}), std::invalid_argument);
  }
  {
    course::MetricsLog resumed(path, {"epoch", "loss"}, /*append=*/true);
    resumed.write({3, 0.125});
  }
  const auto table = course::read_metrics(path);
  ASSERT_EQ(table.columns, (std::vector<std::string>{"epoch", "loss"}));
  ASSERT_EQ(table.rows.size(), 3u);
  EXPECT_DOUBLE_EQ(table.rows[2][1], 0.125);
}

TEST(Image, GrayRoundTripThroughMat) {
  const auto image = torch::arange(12, torch::kUInt8).reshape({3, 4});
  const cv::Mat mat = course::to_mat(image);
  ASSERT_EQ(mat.rows, 3);
  ASSERT_EQ(mat.cols, 4);
  EXPECT_EQ(mat.at<std::uint8_t>(2, 3), 11);
  EXPECT_TRUE(torch::equal(course::from_mat(mat), image));
}

TEST(Image, ColourKeepsRgbOrder) {
  auto image = torch::zeros({3, 2, 2}, torch::kUInt8);
  image[0].fill_(200);  // red channel
  const cv::Mat mat = course::to_mat(image);
  EXPECT_EQ(mat.at<cv::Vec3b>(0, 0)[2], 200);  // OpenCV stores BGR: red is last
  EXPECT_TRUE(torch::equal(course::from_mat(mat), image));
}

TEST(Image, FromMatLeavesTheMatAlone) {
  cv::Mat mat(1, 1, CV_8UC3, cv::Scalar(1, 2, 3));  // B=1 G=2 R=3
  const auto tensor = course::from_mat(mat);
  EXPECT_EQ(mat.at<cv::Vec3b>(0, 0), cv::Vec3b(1, 2, 3));
  EXPECT_EQ(tensor[0][0][0].item<int>(), 3);  // red first in the tensor
}

TEST(Image, FloatImagesAreScaled) {
  const auto image = torch::tensor({0.0f, 0.5f, 1.0f, 2.0f}).reshape({2, 2});
  const cv::Mat mat = course::to_mat(image);
  EXPECT_EQ(mat.at<std::uint8_t>(0, 1), 128);
  EXPECT_EQ(mat.at<std::uint8_t>(1, 1), 255);  // clamped
}

TEST(Image, GridPlacesEachImage) {
  const auto images = torch::ones({5, 2, 3});
  const auto grid = course::make_grid(images, /*columns=*/3, /*padding=*/1);
  EXPECT_EQ(grid.sizes(), (torch::IntArrayRef{2 * 3 + 1, 3 * 4 + 1}));
  EXPECT_EQ(grid.sum().item<float>(), 5 * 6);
}

TEST_F(TempDir, PngIsWrittenAndReadable) {
  const auto path = dir_ / "sub" / "img.png";
  course::save_png(torch::rand({3, 8, 8}), path);
  const cv::Mat back = cv::imread(path.string(), cv::IMREAD_UNCHANGED);
  EXPECT_EQ(back.rows, 8);
  EXPECT_EQ(back.channels(), 3);
}

TEST_F(TempDir, PlotWritesAPng) {
  const auto path = dir_ / "curve.png";
  course::plot_lines({{"loss", {1, 2, 3}, {3, 2, 1}}}, "t", "epoch", "loss", path, 320, 200);
  const cv::Mat back = cv::imread(path.string());
  EXPECT_EQ(back.cols, 320);
  EXPECT_EQ(back.rows, 200);
  EXPECT_THROW(course::plot_lines({{"bad", {1, 2}, {1}}}, "t", "x", "y", path),
               std::invalid_argument);
}

TEST(AllClose, CatchesADifference) {
  const auto a = torch::tensor({1.0, 2.0});
  EXPECT_TRUE(AllClose(a, a.clone()));
  EXPECT_FALSE(AllClose(a, torch::tensor({1.0, 2.1})));
  EXPECT_FALSE(AllClose(a, torch::tensor({1.0})));
}
