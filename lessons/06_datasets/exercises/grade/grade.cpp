// Grades lesson 06's exercises against exercises/golden.json (written by exercises/golden.py).
// cmake/CourseExercises.cmake compiles this file twice: with the learner's exercise files on the
// include path, and with exercises/solutions/ instead. One test suite per exercise: Ex06_1, ...
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "06.1_pixel_dataset.cpp"
#include "06.2_fast_batches.cpp"
#include "golden.h"

using course::testing::AllClose;
using course::testing::Golden;

namespace {
const Golden& golden() {
  static const Golden file("06_datasets/exercises");
  return file;
}

PixelDataset golden_dataset() {
  return {golden().tensor("pixel_dataset/inputs/images"),   // (5, 4, 6) uint8
          golden().tensor("pixel_dataset/inputs/labels")};  // (5,) int64
}
}  // namespace

TEST(Ex06_1, SizeIsTheNumberOfImages) {
  const PixelDataset dataset = golden_dataset();
  ASSERT_TRUE(dataset.size().has_value()) << "size() should say how many samples there are";
  EXPECT_EQ(static_cast<double>(*dataset.size()), golden().scalar("pixel_dataset/outputs/size"))
      << "size() should be N, the number of images (5 here)";
}

TEST(Ex06_1, GetReturnsAFloatImageAndItsLabel) {
  PixelDataset dataset = golden_dataset();
  const auto sample = dataset.get(3);
  EXPECT_EQ(sample.data.scalar_type(), torch::kFloat32)
      << "get() should return the image as float32 numbers, not as the stored bytes";
  EXPECT_EQ(sample.data.sizes(), torch::IntArrayRef({1, 4, 6}))
      << "get() should return the image as (1, H, W): a channel dimension in front of (H, W)";
  EXPECT_TRUE(AllClose(sample.data, golden().tensor("pixel_dataset/outputs/image3")))
      << "get(3).data should be image 3 with its bytes divided by 255 (0..1), as TF.to_tensor";
  EXPECT_EQ(sample.target.dim(), 0) << "get() should return the label as a 0-dim tensor, shape ()";
  EXPECT_EQ(sample.target.item<int64_t>(),
            static_cast<int64_t>(golden().scalar("pixel_dataset/outputs/label3")))
      << "get(3).target should be label 3";
}

TEST(Ex06_1, ALoaderStacksTheSamplesIntoBatches) {
  auto loader = torch::data::make_data_loader<torch::data::samplers::SequentialSampler>(
      golden_dataset().map(torch::data::transforms::Stack<>()),
      torch::data::DataLoaderOptions(/*batch_size=*/2));
  std::vector<torch::Tensor> images, labels;
  for (auto& batch : *loader) {
    images.push_back(batch.data);
    labels.push_back(batch.target);
  }
  ASSERT_EQ(images.size(), 3u)
      << "a loader over 5 samples in batches of 2 should give 3 batches: size() must be 5";
  EXPECT_TRUE(AllClose(torch::cat(images), golden().tensor("pixel_dataset/outputs/all_images")))
      << "the loader's batches (B, 1, H, W) should hold every image, in 0..1, in order";
  EXPECT_TRUE(torch::cat(labels).equal(golden().tensor("pixel_dataset/outputs/all_labels")))
      << "the loader's batches should hold every label, in order";
}

TEST(Ex06_2, BatchesFollowTheOrder) {
  const auto images = golden().tensor("fast_batches/inputs/images");  // (10, 1, 2, 2)
  const auto labels = golden().tensor("fast_batches/inputs/labels");  // (10,)
  const auto order = golden().tensor("fast_batches/inputs/order");    // (10,) a permutation
  const auto batch_size = static_cast<int64_t>(golden().scalar("fast_batches/inputs/batch_size"));
  const auto batches = fast_batches(images, labels, order, batch_size);
  ASSERT_EQ(static_cast<double>(batches.size()), golden().scalar("fast_batches/outputs/batches"))
      << "10 samples in batches of 4 make 3 batches: 4, 4 and the 2 left over (none is dropped)";
  for (size_t k = 0; k < batches.size(); ++k) {
    const std::string n = std::to_string(k);
    EXPECT_TRUE(AllClose(batches[k].first, golden().tensor("fast_batches/outputs/images" + n)))
        << "batch " << k << "'s images should be images[order[" << k * 4 << " .. " << k * 4 + 3
        << "]], in that order (the last batch holds only what is left)";
    EXPECT_TRUE(batches[k].second.equal(golden().tensor("fast_batches/outputs/labels" + n)))
        << "batch " << k << "'s labels should be the labels of the same samples as its images";
  }
}

TEST(Ex06_2, EveryIndexOnce) {
  const auto images = torch::arange(7, torch::kFloat32).view({7, 1, 1, 1});
  const auto order = torch::tensor({6, 5, 4, 3, 2, 1, 0}, torch::kInt64);
  const auto batches = fast_batches(images, torch::arange(7), order, 3);
  std::vector<torch::Tensor> seen;
  for (const auto& batch : batches) seen.push_back(batch.second);
  ASSERT_FALSE(seen.empty()) << "fast_batches should return at least one batch for 7 samples";
  EXPECT_TRUE(torch::cat(seen).equal(order))
      << "with batches of 3, 7 samples give 3, 3 and 1: together every sample once, in the order";
}
