// Unit tests of course::common: device parsing, dataset search, flags, metrics CSV, images, plots.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "course/confusion.h"
#include "course/data.h"
#include "course/device.h"
#include "course/fashion_mnist.h"
#include "course/files.h"
#include "course/flags.h"
#include "course/history.h"
#include "course/image.h"
#include "course/lesson.h"
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

TEST(Exported, TheBuildFolderUnlessTheEnvironmentMovesIt) {
  ::unsetenv("COURSE_EXPORTED_DIR");
  const auto built = course::exported_dir("15_x");  // <build folder>/exported/15_x
  EXPECT_TRUE(built.is_absolute()) << built;
  EXPECT_EQ(built.parent_path().filename(), "exported") << built;
  EXPECT_EQ(built.filename(), "15_x") << built;
  ::setenv("COURSE_EXPORTED_DIR", "/elsewhere", 1);
  const auto moved = course::exported_dir("15_x");
  ::unsetenv("COURSE_EXPORTED_DIR");
  EXPECT_EQ(moved, fs::path("/elsewhere/15_x"));
}

// Parses argv with `flags`; argv[0] is added.
const course::Options& parse(course::Flags& flags, std::vector<std::string> args) {
  args.insert(args.begin(), "prog");
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  return flags.parse(static_cast<int>(argv.size()), argv.data());
}

TEST(Dataset, ACourseDataDirThatIsNotThereIsAnError) {
  ::setenv("COURSE_DATA_DIR", "/nonexistent", 1);
  try {
    course::find_dataset("fashion-mnist", "", {"a"});
    ADD_FAILURE() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("COURSE_DATA_DIR=/nonexistent does not exist"),
              std::string::npos)
        << e.what();
  }
  ::unsetenv("COURSE_DATA_DIR");
}

TEST(Flags, ParsesTheSharedFlagsAndALessonsOwn) {
  course::Options defaults;
  defaults.epochs = 3;
  course::Flags flags("00_test", "test", defaults);
  int64_t batch = 64;
  double lr = 0.1;
  std::vector<int64_t> hidden = {8};
  std::string optimizer = "adam";
  bool resume = false, flip = true;
  flags.add("--batch-size", batch, "b", {1, 1000});
  flags.add("--lr", lr, "l", {0.0, 1.0});
  flags.add("--hidden", hidden, "h", {1, 4096});
  flags.add("--optimizer", optimizer, "o", {"sgd", "adam"});
  flags.add_switch("--resume", resume, "r");
  flags.add_switch("--no-flip", flip, "f");
  // A copy: GCC 14 cannot tell that parse() returns a member of flags, not of the temporary list.
  const course::Options options =
      parse(flags,
            {"--epochs", "5", "--device", "cpu", "--smoke", "--seed", "9", "--batch-size", "4",
             "--lr", "1e-3", "--hidden", "512,256", "--optimizer", "sgd", "--resume", "--no-flip"});
  EXPECT_EQ(options.epochs, 5);
  EXPECT_EQ(options.device, "cpu");
  EXPECT_TRUE(options.smoke);
  EXPECT_EQ(options.seed, 9u);
  EXPECT_EQ(batch, 4);
  EXPECT_DOUBLE_EQ(lr, 1e-3);
  EXPECT_EQ(hidden, (std::vector<int64_t>{512, 256}));
  EXPECT_EQ(optimizer, "sgd");
  EXPECT_TRUE(resume);
  EXPECT_FALSE(flip);
}

TEST(Flags, DefaultsStayWhenAFlagIsNotGiven) {
  course::Flags flags("00_test", "test");
  double lr = 0.25;
  bool flip = true;
  flags.add("--lr", lr, "l", {0.0, 1.0});
  flags.add_switch("--no-flip", flip, "f");
  const course::Options options = parse(flags, {});
  EXPECT_EQ(options.epochs, 1);
  EXPECT_EQ(options.seed, 42u);
  EXPECT_DOUBLE_EQ(lr, 0.25);
  EXPECT_TRUE(flip);
}

TEST(Flags, UnknownFlagExitsWithTwo) {
  const auto parse_unknown = [] {
    course::Flags flags("00_test", "test");
    parse(flags, {"--no-such-flag"});
  };
  EXPECT_EXIT(parse_unknown(), ::testing::ExitedWithCode(2), "--no-such-flag");
}

TEST(Flags, BadValuesExitWithTwoNamingTheFlagTheValueAndTheRange) {
  const auto parse_lr = [](const std::string& value) {
    course::Flags flags("00_test", "test");
    double lr = 0.1;
    flags.add("--lr", lr, "l", {1e-6, 1.0});
    parse(flags, {"--lr", value});
  };
  EXPECT_EXIT(parse_lr("-1"), ::testing::ExitedWithCode(2),
              "--lr -1: out of range.*from 1e-06 to 1");
  EXPECT_EXIT(parse_lr("nan"), ::testing::ExitedWithCode(2), "--lr nan: not a finite number");
  EXPECT_EXIT(parse_lr("0.1x"), ::testing::ExitedWithCode(2), "--lr 0.1x: not a number");
  const auto parse_epochs = [](const std::string& value) {
    course::Flags flags("00_test", "test");
    parse(flags, {"--epochs", value});
  };
  EXPECT_EXIT(parse_epochs("1.5"), ::testing::ExitedWithCode(2),
              "--epochs 1.5: not a whole number.*from 1 to 100000");
  EXPECT_EXIT(parse_epochs("0"), ::testing::ExitedWithCode(2), "--epochs 0: out of range");
  EXPECT_EXIT(parse_epochs("99999999999999999999"), ::testing::ExitedWithCode(2),
              "--epochs 99999999999999999999: out of range");
  const auto parse_hidden = [](const std::string& value) {
    course::Flags flags("00_test", "test");
    std::vector<int64_t> hidden;
    flags.add("--hidden", hidden, "h", {1, 4096});
    parse(flags, {"--hidden", value});
  };
  EXPECT_EXIT(parse_hidden("512,,256"), ::testing::ExitedWithCode(2), "--hidden : not a whole");
  EXPECT_EXIT(parse_hidden("100000000000"), ::testing::ExitedWithCode(2), "out of range");
  const auto parse_optimizer = [] {
    course::Flags flags("00_test", "test");
    std::string name = "adam";
    flags.add("--optimizer", name, "o", {"sgd", "adam"});
    parse(flags, {"--optimizer", "rmsprop"});
  };
  EXPECT_EXIT(parse_optimizer(), ::testing::ExitedWithCode(2),
              "--optimizer rmsprop: not one of sgd, adam");
}

TEST(Flags, SeedsMeanWhatTheyMeanInPython) {
  // torch.manual_seed takes -2^63 .. 2^64-1 and maps a negative seed s to 2^64 + s.
  EXPECT_EQ(course::parse_seed("--seed", "0"), 0u);
  EXPECT_EQ(course::parse_seed("--seed", "18446744073709551615"), 18446744073709551615u);
  EXPECT_EQ(course::parse_seed("--seed", "-1"), 18446744073709551615u);
  EXPECT_EQ(course::parse_seed("--seed", "-9223372036854775808"), 9223372036854775808u);
  EXPECT_THROW(course::parse_seed("--seed", "18446744073709551616"), std::invalid_argument);
  EXPECT_THROW(course::parse_seed("--seed", "-9223372036854775809"), std::invalid_argument);
  EXPECT_THROW(course::parse_seed("--seed", "4.5"), std::invalid_argument);
  EXPECT_THROW(course::parse_seed("--seed", ""), std::invalid_argument);
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
  const cv::Mat back = course::read_png(path);
  EXPECT_EQ(back.rows, 8);
  EXPECT_EQ(back.channels(), 3);
}

TEST_F(TempDir, PlotWritesAPng) {
  const auto path = dir_ / "curve.png";
  course::plot_lines({{"loss", {1, 2, 3}, {3, 2, 1}}}, "t", "epoch", "loss", path, 320, 200);
  const cv::Mat back = course::read_png(path);
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
  const double nan = std::nan("");
  EXPECT_TRUE(AllClose(torch::tensor({nan, 2.0}), torch::tensor({nan, 2.0})));
  EXPECT_FALSE(AllClose(torch::tensor({nan, 2.0}), torch::tensor({1.0, 2.0})));
  EXPECT_FALSE(AllClose(torch::tensor({1.0, 2.0}), torch::tensor({nan, 2.0})));
}

// ---- the paperwork of a training run
// --------------------------------------------------------------

TEST_F(TempDir, HistoryWritesRowsComputesTheResultAndDrawsTheCurves) {
  course::History history(
      dir_, {"train_loss", "train_acc", "test_loss", "test_acc", "seconds", "compute_seconds"});
  history.add(1, {1.0, 0.5, 1.2, 0.4, 2.0, 1.5});
  history.add(2, {0.5, 0.8, 0.7, 0.7, 4.0, 3.5});
  EXPECT_THROW(history.add(3, {1.0}), std::invalid_argument);
  EXPECT_EQ(history.column("epoch"), (std::vector<double>{1, 2}));
  EXPECT_DOUBLE_EQ(history.last("test_acc"), 0.7);
  EXPECT_THROW(history.column("val_acc"), std::invalid_argument);

  const auto table = course::read_metrics(dir_ / "metrics.csv");
  EXPECT_EQ(table.columns,
            (std::vector<std::string>{"epoch", "train_loss", "train_acc", "test_loss", "test_acc",
                                      "seconds", "compute_seconds"}));
  ASSERT_EQ(table.rows.size(), 2u);
  EXPECT_DOUBLE_EQ(table.rows[1][2], 0.8);

  EXPECT_EQ(history.plot("t"), (std::vector<std::string>{"loss.png", "accuracy.png"}));
  EXPECT_FALSE(course::read_png(dir_ / "loss.png").empty());
  EXPECT_FALSE(course::read_png(dir_ / "accuracy.png").empty());

  // 2 epochs in 6 s: 3 s each; 100 samples per epoch: 200 / 6 per second; outside compute: 1/6.
  testing::internal::CaptureStdout();
  history.print_result("00_test", 100);
  EXPECT_EQ(testing::internal::GetCapturedStdout(),
            "RESULT lesson=00_test epochs=2 epoch_time_s=3 train_samples_per_s=33.3333 "
            "test_acc=0.7 outside_share=0.166667\n");
}

TEST_F(TempDir, HistoryRestoreRewritesTheCsvWithExactlyThoseRows) {
  course::History history(dir_, {"loss", "seconds", "compute_seconds", "test_acc"});
  history.add(1, {9, 9, 9, 9});
  history.add(2, {9, 9, 9, 9});
  history.restore({{1, 0.5, 1, 1, 0.5}});
  const auto table = course::read_metrics(dir_ / "metrics.csv");
  ASSERT_EQ(table.rows.size(), 1u);
  EXPECT_EQ(table.rows[0], (std::vector<double>{1, 0.5, 1, 1, 0.5}));
  history.add(2, {0.25, 1, 1, 0.75});
  EXPECT_EQ(course::read_metrics(dir_ / "metrics.csv").rows.size(), 2u);
  EXPECT_THROW(history.restore({{1, 2}}), std::invalid_argument);
}

TEST(Confusion, TextHasEveryClassNameItsCountsAndItsRecall) {
  // Row t: 90 images of class t predicted right, one predicted as each other class: recall 90/99.
  const auto matrix = torch::eye(10, torch::kInt64) * 89 + 1;
  const std::string text = course::format_confusion(matrix, course::kFashionClasses);
  std::istringstream lines(text);
  std::string line;
  std::getline(lines, line);
  EXPECT_EQ(line,
            "true \\ pred        0     1     2     3     4     5     6     7     8     9  recall");
  std::getline(lines, line);
  EXPECT_EQ(line,
            "0 T-shirt/top     90     1     1     1     1     1     1     1     1     1  0.909");
  for (int64_t t = 1; t < 10; ++t) {
    ASSERT_TRUE(std::getline(lines, line));
    EXPECT_EQ(line.rfind(std::to_string(t) + " " + course::kFashionClasses[t], 0), 0u) << line;
    EXPECT_EQ(line.substr(line.size() - 5), "0.909") << line;
  }
  EXPECT_FALSE(std::getline(lines, line));
}

TEST_F(TempDir, ConfusionPngIsWritten) {
  const auto matrix = torch::eye(10, torch::kInt64) * 90 + 1;
  const auto path = dir_ / "sub" / "confusion.png";
  course::plot_confusion(matrix, course::kFashionClasses, path);
  const cv::Mat image = course::read_png(path);
  ASSERT_FALSE(image.empty());
  EXPECT_EQ(image.cols, 130 + 10 * 52 + 20);
  EXPECT_EQ(image.rows, 70 + 10 * 52 + 40);
}

TEST_F(TempDir, CaptionedGridHasATilePerImage) {
  const auto images = torch::zeros({3, 28, 28}, torch::kUInt8);
  const auto path = dir_ / "grid.png";
  course::save_captioned_grid(images, {{"a", "b"}, {"c", "d"}, {"e", "f"}}, path, /*columns=*/2);
  const cv::Mat image = course::read_png(path);
  ASSERT_FALSE(image.empty());
  EXPECT_EQ(image.cols, 2 * (112 + 4) + 4);
  EXPECT_EQ(image.rows, 2 * (112 + 34 + 4) + 4);
  EXPECT_THROW(course::save_captioned_grid(images, {{"a", "b"}}, path), c10::Error);
}

// Item 2 of the reliability issue: a new run never writes into an earlier run's folder.
TEST_F(TempDir, EachRunGetsANewNumberedFolder) {
  const auto root = dir_ / "out";
  EXPECT_EQ(course::new_run_folder(root), root / "run_1");  // creates the missing root too
  EXPECT_EQ(course::new_run_folder(root), root / "run_2");
  fs::create_directories(root / "run_9");
  fs::create_directories(root / "run_x");      // not a run folder: ignored
  fs::create_directories(root / "run_010");    // neither (a leading zero)
  std::ofstream(root / "run_20") << "a file";  // neither (not a folder)
  EXPECT_EQ(course::new_run_folder(root), root / "run_10");
  EXPECT_TRUE(fs::is_directory(root / "run_10"));
}

TEST_F(TempDir, ResumeContinuesTheLatestRunThatHasTheCheckpoint) {
  const auto root = dir_ / "out";
  EXPECT_THROW(course::run_to_resume(root, "checkpoint.pt"), std::runtime_error);
  for (const char* run : {"run_1", "run_2", "run_3"}) fs::create_directories(root / run);
  std::ofstream(root / "run_1" / "checkpoint.pt") << "x";
  std::ofstream(root / "run_2" / "checkpoint.pt") << "x";  // run_3: killed before its first one
  EXPECT_EQ(course::run_to_resume(root, "checkpoint.pt"), root / "run_2");
  EXPECT_EQ(course::run_to_resume(root / "run_1", "checkpoint.pt"), root / "run_1");  // named
  const auto nothing = dir_ / "empty";
  fs::create_directories(nothing);
  std::string message;
  try {
    course::run_to_resume(nothing, "checkpoint.pt");
  } catch (const std::runtime_error& error) {
    message = error.what();
  }
  EXPECT_NE(message.find("no run folder in " + nothing.string() + " holds a checkpoint.pt"),
            std::string::npos)
      << message;
}

TEST(Result, OneLineSixSignificantDigits) {
  testing::internal::CaptureStdout();
  course::print_result("00_test", {{"epochs", 10}, {"test_acc", 0.925512345}, {"rate", 1234567.8}});
  EXPECT_EQ(testing::internal::GetCapturedStdout(),
            "RESULT lesson=00_test epochs=10 test_acc=0.925512 rate=1.23457e+06\n");
}

TEST(Fashion, NormalizeGivesImagesWithAChannelAndTheDatasetsMeanAndStd) {
  const auto images = torch::tensor({0, 255}, torch::kUInt8).repeat({392}).reshape({1, 28, 28});
  const auto x = course::normalize_fashion(images);
  EXPECT_EQ(x.sizes(), (std::vector<int64_t>{1, 1, 28, 28}));
  EXPECT_EQ(x.scalar_type(), torch::kFloat32);
  EXPECT_NEAR(x[0][0][0][0].item<double>(), -0.2860 / 0.3530, 1e-6);
  EXPECT_NEAR(x[0][0][0][1].item<double>(), (1.0 - 0.2860) / 0.3530, 1e-6);
  EXPECT_THROW(course::normalize_fashion(torch::zeros({1, 28, 28})), c10::Error);  // not uint8
}

TEST(Model, ParameterCountAddsEveryParametersSize) {
  torch::nn::Linear linear(784, 10);
  EXPECT_EQ(course::parameter_count(*linear), 7850);
}

TEST(Lesson, StopIfDivergedNamesTheLossTheEpochAndTheFix) {
  EXPECT_NO_THROW(course::stop_if_diverged(0.25, 1, 0.1));
  try {
    course::stop_if_diverged(std::nan(""), 3, 5.0);
    FAIL() << "a NaN loss must stop training";
  } catch (const std::runtime_error& error) {
    EXPECT_STREQ(error.what(), "loss became nan at epoch 3; lower --lr (now 5)");
  }
  EXPECT_THROW(course::stop_if_diverged(INFINITY, 1, 0.1), std::runtime_error);
}
