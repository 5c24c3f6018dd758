// Lesson 06's promises: the transforms match Python PyTorch (goldens from reference.py), the three
// datasets return what their files hold, and a data loader yields every sample once per epoch.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>
#include <zlib.h>
#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "course/image.h"
#include "datasets.h"
#include "golden.h"
#include "scratch_dir.h"

namespace fs = std::filesystem;
namespace ds = course::datasets;
using course::testing::AllClose;
using course::testing::Golden;

namespace {

// A fresh empty folder per test, removed afterwards; seeds the default generator.
class DatasetFiles : public course::testing::ScratchDir {};

// n images (n, 28, 28) uint8 whose pixel (0, 0) is the image's index: a loader's batches then
// tell which samples they hold. Labels are index % 10.
ds::FashionMnistDataset numbered_dataset(int64_t n) {
  auto images =
      torch::arange(28 * 28, torch::kInt64).remainder(200).repeat({n, 1}).view({n, 28, 28});
  images.select(1, 0).select(1, 0).copy_(torch::arange(n));
  return ds::FashionMnistDataset(images.to(torch::kUInt8), torch::arange(n).remainder(10));
}

// The sample indices in a batch of numbered_dataset images (data (B, 1, 28, 28) in 0..1).
std::vector<int64_t> indices_of(const torch::Tensor& data) {
  const auto first_pixel =
      (data.select(1, 0).select(1, 0).select(1, 0) * 255).round().to(torch::kInt64);
  return {first_pixel.data_ptr<int64_t>(), first_pixel.data_ptr<int64_t>() + first_pixel.numel()};
}

std::string message_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

// ---- transforms against Python -------------------------------------------------------------

TEST(Transforms, NormalizeMatchesPython) {
  const Golden golden("06_datasets");
  const auto image = golden.tensor("normalize/inputs/image");
  EXPECT_TRUE(AllClose(ds::normalize(image), golden.tensor("normalize/outputs/normalized")));
}

TEST(Transforms, HflipMatchesPython) {
  const Golden golden("06_datasets");
  const auto flipped = ds::hflip(golden.tensor("hflip/inputs/image"));
  EXPECT_TRUE(AllClose(flipped, golden.tensor("hflip/outputs/flipped")));
}

TEST(Transforms, PadCropAtFixedOffsetsMatchesPython) {
  const Golden golden("06_datasets");
  const auto image = golden.tensor("pad_crop/inputs/image");  // (1, 6, 7)
  const auto padding = static_cast<int64_t>(golden.scalar("pad_crop/inputs/padding"));
  const auto offsets = golden.tensor("pad_crop/inputs/offsets").to(torch::kInt64);  // (K, 2)
  ASSERT_GE(offsets.size(0), 3);
  for (int64_t k = 0; k < offsets.size(0); ++k) {
    const int64_t top = offsets[k][0].item<int64_t>(), left = offsets[k][1].item<int64_t>();
    const auto expected =
        golden.tensor("pad_crop/outputs/crop_" + std::to_string(top) + "_" + std::to_string(left));
    EXPECT_TRUE(AllClose(ds::pad_crop(image, padding, top, left), expected)) << top << "," << left;
  }
}

TEST(Transforms, PadCropAtTheCentreIsTheImageAndBadOffsetsThrow) {
  const auto image = torch::arange(42, torch::kFloat32).view({1, 6, 7});
  EXPECT_TRUE(ds::pad_crop(image, 3, 3, 3).equal(image));
  EXPECT_THROW(ds::pad_crop(image, 2, 5, 0), c10::Error);
  EXPECT_THROW(ds::pad_crop(image, 2, 0, -1), c10::Error);
}

TEST(Transforms, AffineMatrixMatchesPython) {
  const Golden golden("06_datasets");
  const auto params = golden.tensor("affine_matrix/inputs/params").to(torch::kFloat64);  // (K, 5)
  for (const auto& [height, width] : std::vector<std::pair<int64_t, int64_t>>{{28, 28}, {20, 30}}) {
    const auto expected = golden.tensor("affine_matrix/outputs/theta_" + std::to_string(height) +
                                        "x" + std::to_string(width));
    ASSERT_EQ(expected.size(0), params.size(0));
    for (int64_t k = 0; k < params.size(0); ++k) {
      const auto p = params[k];
      const auto theta =
          ds::affine_matrix(p[0].item<double>(), p[1].item<double>(), p[2].item<double>(),
                            p[3].item<double>(), p[4].item<double>() > 0.5, height, width);
      EXPECT_TRUE(AllClose(theta, expected[k], 1e-5, 1e-6)) << "row " << k << "\n" << theta;
    }
  }
}

TEST(Transforms, AffineMatchesPython) {
  const Golden golden("06_datasets");
  const auto out =
      ds::affine(golden.tensor("affine/inputs/images"), golden.tensor("affine/inputs/theta"));
  EXPECT_TRUE(AllClose(out, golden.tensor("affine/outputs/transformed"), 1e-4, 1e-5));
}

TEST(Transforms, AffineFlipAndWholePixelShiftsMatchFlipAndCrop) {
  const auto image = torch::arange(42, torch::kFloat32).view({1, 6, 7});
  const auto mirrored = ds::affine(image, ds::affine_matrix(0, 0, 0, 1, /*flip=*/true, 6, 7));
  EXPECT_TRUE(AllClose(mirrored, ds::hflip(image), 0, 1e-4));
  // Shift right 1 and down 0 == pad 2, window at top 2, left 1.
  const auto shifted = ds::affine(image, ds::affine_matrix(0, 1, 0, 1, false, 6, 7));
  EXPECT_TRUE(AllClose(shifted, ds::pad_crop(image, 2, 2, 1), 0, 1e-4));
}

TEST(Transforms, AugmentWithOnlyFlipIsHflip) {
  const auto image = torch::rand({1, 28, 28});
  ds::AugmentOptions only_flip;
  only_flip.flip_probability = 1.0;
  only_flip.crop_padding = 0;
  only_flip.max_degrees = 0.0;
  only_flip.max_scale_change = 0.0;
  EXPECT_TRUE(AllClose(ds::augment(image, only_flip), ds::hflip(image), 0, 1e-5));
  const auto batch = torch::rand({4, 1, 28, 28});
  EXPECT_TRUE(AllClose(ds::augment_batch(batch, only_flip), ds::hflip(batch), 0, 1e-5));
}

TEST(Transforms, AugmentKeepsTheShapeAndChangesTheImage) {
  const auto batch = torch::rand({16, 1, 28, 28});
  const auto out = ds::augment_batch(batch, ds::AugmentOptions{});
  EXPECT_EQ(out.sizes(), batch.sizes());
  EXPECT_GT((out - batch).abs().mean().item<double>(), 0.01);
  const auto one = ds::augment(batch[0], ds::AugmentOptions{});
  EXPECT_EQ(one.sizes(), torch::IntArrayRef({1, 28, 28}));
}

// ---- the three datasets --------------------------------------------------------------------

TEST(FashionMnistDataset, GetReturnsAFloatImageAndItsLabel) {
  auto dataset = numbered_dataset(5);
  ASSERT_EQ(dataset.size(), std::optional<size_t>(5));
  const auto sample = dataset.get(3);
  EXPECT_EQ(sample.data.sizes(), torch::IntArrayRef({1, 28, 28}));
  EXPECT_EQ(sample.data.scalar_type(), torch::kFloat32);
  EXPECT_TRUE(AllClose(sample.data[0], dataset.images()[3].to(torch::kFloat32) / 255.0));
  EXPECT_EQ(sample.target.item<int64_t>(), 3);
  EXPECT_THROW(dataset.get(5), c10::Error);
}

TEST_F(DatasetFiles, FashionMnistDatasetReadsIdxFiles) {
  // Three 28x28 images and their labels, written as gzip'd IDX files.
  const auto write = [&](const std::string& name, const std::vector<uint32_t>& sizes,
                         const std::string& data) {
    std::string bytes = {'\0', '\0', '\x08', static_cast<char>(sizes.size())};
    for (const uint32_t s : sizes) {
      for (int shift = 24; shift >= 0; shift -= 8) bytes += static_cast<char>((s >> shift) & 0xFF);
    }
    bytes += data;
    gzFile file = gzopen((dir_ / name).c_str(), "wb");
    ASSERT_NE(file, nullptr);
    gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size()));
    gzclose(file);
  };
  std::string pixels(3 * 28 * 28, '\0');
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<char>(i % 251);
  write("t10k-images-idx3-ubyte.gz", {3, 28, 28}, pixels);
  write("t10k-labels-idx1-ubyte.gz", {3}, std::string("\x07\x02\x05", 3));

  auto dataset = ds::FashionMnistDataset(dir_, /*train=*/false);
  ASSERT_EQ(*dataset.size(), 3u);
  EXPECT_EQ(dataset.get(1).target.item<int64_t>(), 2);
  EXPECT_NEAR(dataset.get(1).data[0][0][0].item<double>(), (28 * 28 % 251) / 255.0, 1e-6);
  EXPECT_EQ(*ds::FashionMnistDataset(dir_, false, /*limit=*/2).size(), 2u);
  // The training split is not there: the error names the file.
  EXPECT_NE(
      message_of([&] { ds::FashionMnistDataset(dir_, true); }).find("train-images-idx3-ubyte.gz"),
      std::string::npos);
}

TEST_F(DatasetFiles, ImageFolderListsClassesInSortedOrderAndReadsPngs) {
  // b_bags/{1,0}.png and a_boots/5.png, each pixel = a known value; a .txt file to skip.
  const auto write_png = [&](const std::string& name, int value) {
    fs::create_directories((dir_ / name).parent_path());
    const auto pixels = (torch::arange(12, torch::kInt64).view({3, 4}) + value).to(torch::kUInt8);
    ASSERT_TRUE(cv::imwrite((dir_ / name).string(), course::to_mat(pixels)));
  };
  write_png("b_bags/1.png", 10);
  write_png("b_bags/0.png", 20);
  write_png("a_boots/5.png", 30);
  std::ofstream(dir_ / "b_bags" / "notes.txt") << "not an image";

  ds::ImageFolderDataset folder(dir_);
  EXPECT_EQ(folder.classes(), (std::vector<std::string>{"a_boots", "b_bags"}));
  ASSERT_EQ(*folder.size(), 3u);
  EXPECT_EQ(folder.path(0).filename(), "5.png");
  EXPECT_EQ(folder.path(1).filename(), "0.png");
  EXPECT_EQ(folder.path(2).filename(), "1.png");
  const auto expected_labels = std::vector<int64_t>{0, 1, 1};
  const auto expected_offsets = std::vector<int>{30, 20, 10};
  for (size_t i = 0; i < 3; ++i) {
    const auto sample = folder.get(i);
    EXPECT_EQ(sample.target.item<int64_t>(), expected_labels[i]);
    const auto expected =
        (torch::arange(12, torch::kFloat32).view({1, 3, 4}) + expected_offsets[i]) / 255.0;
    EXPECT_TRUE(AllClose(sample.data, expected)) << i;
  }

  // A broken PNG: get() says which file.
  std::ofstream(dir_ / "b_bags" / "2.png") << "not a png";
  ds::ImageFolderDataset with_broken(dir_);
  EXPECT_NE(message_of([&] { with_broken.get(3); }).find("2.png"), std::string::npos);
}

TEST_F(DatasetFiles, ImageFolderWithoutClassFoldersSaysHowToMakeIt) {
  EXPECT_NE(message_of([&] { ds::ImageFolderDataset folder(dir_); }).find("make_datasets.py"),
            std::string::npos);
  EXPECT_NE(
      message_of([&] { ds::ImageFolderDataset folder(dir_ / "missing"); }).find("not a folder"),
      std::string::npos);
}

TEST_F(DatasetFiles, CsvDatasetParsesRows) {
  // 2x3 images: header, two rows, Windows line ends, a final empty line.
  std::ofstream(dir_ / "tiny.csv") << "label,p1,p2,p3,p4,p5,p6\r\n"
                                      "3,0,1,2,3,4,255\r\n"
                                      "9,10,20,30,40,50,60\r\n\n";
  ds::CsvDataset csv(dir_ / "tiny.csv", /*height=*/2, /*width=*/3);
  ASSERT_EQ(*csv.size(), 2u);
  EXPECT_TRUE(csv.labels().equal(torch::tensor({3, 9}, torch::kInt64)));
  EXPECT_TRUE(
      csv.images()[0].equal(torch::tensor({0, 1, 2, 3, 4, 255}, torch::kUInt8).view({2, 3})));
  const auto sample = csv.get(1);
  EXPECT_TRUE(
      AllClose(sample.data, torch::tensor({10., 20., 30., 40., 50., 60.}).view({1, 2, 3}) / 255.0));
  EXPECT_EQ(sample.target.item<int64_t>(), 9);
}

TEST_F(DatasetFiles, CsvDatasetRejectsBadRowsWithTheLineNumber) {
  const auto error_for = [&](const std::string& row) {
    std::ofstream(dir_ / "bad.csv") << "label,a,b\n1,2,3\n" << row << "\n";
    return message_of([&] { ds::CsvDataset(dir_ / "bad.csv", 1, 2); });
  };
  for (const auto& [row, what] : std::vector<std::pair<std::string, std::string>>{
           {"1,2", "2 values, expected 3"},
           {"1,2,3,4", "4 values, expected 3"},
           {"1,2,256", "value 3 is not an integer in 0..255"},
           {"1,x,3", "value 2 is not an integer"},
           {"12,2,3", "label 12 is not in 0..9"},
           {"1;2;3", "unexpected ';'"}}) {
    const std::string message = error_for(row);
    EXPECT_NE(message.find("bad.csv line 3"), std::string::npos) << row << ": " << message;
    EXPECT_NE(message.find(what), std::string::npos) << row << ": " << message;
  }
  EXPECT_NE(message_of([&] { ds::CsvDataset(dir_ / "none.csv"); }).find("make_datasets.py"),
            std::string::npos);
}

TEST_F(DatasetFiles, MissingPngDatasetSaysWhichCommandMakesIt) {
  const std::string message = message_of([&] { ds::find_png_dataset(dir_.string()); });
  EXPECT_NE(message.find("fashion-mnist-png"), std::string::npos) << message;
  EXPECT_NE(message.find("python3 datasets/make_datasets.py"), std::string::npos) << message;
}

// ---- samplers and loaders ------------------------------------------------------------------

TEST(DataLoader, SequentialSamplerKeepsTheOrder) {
  auto loader = torch::data::make_data_loader<torch::data::samplers::SequentialSampler>(
      numbered_dataset(40).map(torch::data::transforms::Stack<>()),
      torch::data::DataLoaderOptions().batch_size(16));
  std::vector<int64_t> seen;
  for (const auto& batch : *loader) {
    const auto indices = indices_of(batch.data);
    seen.insert(seen.end(), indices.begin(), indices.end());
  }
  std::vector<int64_t> expected(40);
  std::iota(expected.begin(), expected.end(), 0);
  EXPECT_EQ(seen, expected);
}

TEST(DataLoader, YieldsEverySampleOncePerEpochWithWorkers) {
  torch::manual_seed(1);
  constexpr int64_t kSamples = 150;  // not a multiple of the batch size: the last batch is short
  auto loader = torch::data::make_data_loader<torch::data::samplers::RandomSampler>(
      numbered_dataset(kSamples).map(torch::data::transforms::Stack<>()),
      torch::data::DataLoaderOptions().batch_size(16).workers(2));
  std::vector<int64_t> epoch_orders[2];
  for (auto& order : epoch_orders) {
    for (const auto& batch : *loader) {
      const auto indices = indices_of(batch.data);
      // Labels travel with their images: index % 10.
      EXPECT_TRUE(batch.target.equal(torch::tensor(indices).remainder(10)));
      order.insert(order.end(), indices.begin(), indices.end());
    }
    std::vector<int64_t> sorted = order;
    std::sort(sorted.begin(), sorted.end());
    std::vector<int64_t> expected(kSamples);
    std::iota(expected.begin(), expected.end(), 0);
    EXPECT_EQ(sorted, expected);
  }
  EXPECT_NE(epoch_orders[0], epoch_orders[1]) << "a RandomSampler shuffles again every epoch";
  EXPECT_FALSE(std::is_sorted(epoch_orders[0].begin(), epoch_orders[0].end()));
}
