// Tests of lesson 06: the very functions main.cpp defines (it is included below, without its
// main). The three readers return what their files hold, the affine transform matches Python
// PyTorch (golden.json, from reference.py --golden), augmentation changes what it promises, and
// every way to feed a model yields each sample once per pass, normalised, its label with it.
// Every test is seeded (the fixture), so the random ones repeat.
#define COURSE_TESTING
#include "main.cpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <fstream>
#include <numeric>
#include <string>
#include <vector>

#include "golden.h"
#include "scratch_dir.h"

using course::testing::AllClose;
using course::testing::error_of;
using course::testing::Golden;

namespace {

// Seeds LibTorch's default generator before every test and gives it a fresh empty folder, dir_.
class Datasets : public course::testing::ScratchDir {};
using Transforms = Datasets;
using Loaders = Datasets;

// n images (n, 28, 28) whose pixel (0, 0) is the image's index (n <= 256), labels index % 10:
// a batch then tells which samples it holds.
FashionMnistDataset numbered(int64_t n) {
  auto images = (torch::arange(28 * 28) % 200 + 50).repeat({n, 1}).view({n, 28, 28});
  images.select(1, 0).select(1, 0).copy_(torch::arange(n));
  return {images.to(torch::kUInt8), torch::arange(n) % 10};
}

// The indices of numbered() images in a batch (B, 1, 28, 28), normalised or (raw) in 0..1.
std::vector<int64_t> indices_of(const torch::Tensor& images, bool normalised = true) {
  auto corner = images.select(1, 0).select(1, 0).select(1, 0);  // (B,)
  if (normalised) corner = corner * course::kFashionStd + course::kFashionMean;
  const auto index = (corner * 255).round().to(torch::kInt64).contiguous();
  return {index.data_ptr<int64_t>(), index.data_ptr<int64_t>() + index.numel()};
}

std::vector<int64_t> iota(int64_t n) {
  std::vector<int64_t> values(static_cast<size_t>(n));
  std::iota(values.begin(), values.end(), 0);
  return values;
}

// Writes a uint8 image (H, W) as a PNG, making the folders.
void write_png(const fs::path& path, const torch::Tensor& pixels) {
  fs::create_directories(path.parent_path());
  ASSERT_TRUE(cv::imwrite(path.string(), course::to_mat(pixels)));
}

// A Config whose augmentation only mirrors, always.
Config only_flip() {
  Config config;
  config.flip_probability = 1.0;
  config.max_shift = 0;
  config.max_degrees = 0.0;
  config.max_scale_change = 0.0;
  return config;
}

}  // namespace

// ---- the datasets
// --------------------------------------------------------------------------------

TEST_F(Datasets, GetReturnsAFloatImageInZeroToOneAndItsLabel) {
  auto dataset = numbered(5);
  ASSERT_EQ(dataset.size(), std::optional<size_t>(5));
  const auto sample = dataset.get(3);
  EXPECT_EQ(sample.data.sizes(), (std::vector<int64_t>{1, 28, 28}));
  EXPECT_EQ(sample.data.scalar_type(), torch::kFloat32);
  EXPECT_TRUE(AllClose(sample.data[0], dataset.images()[3].to(torch::kFloat32) / 255.0));
  EXPECT_EQ(sample.target.item<int64_t>(), 3);
  EXPECT_THROW(dataset.get(5), c10::Error);
  EXPECT_THROW(FashionMnistDataset(torch::zeros({3, 28, 28}, torch::kUInt8), torch::zeros({2})),
               c10::Error);
}

TEST_F(Datasets, ReadFashionMnistReadsTheGzippedIdxFiles) {
  const auto write = [&](const std::string& name, const std::vector<uint32_t>& sizes,
                         const std::string& data) {  // magic 00 00 08 D, big-endian sizes, data
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

  auto dataset = read_fashion_mnist(dir_, /*train=*/false);
  ASSERT_EQ(*dataset.size(), 3u);
  EXPECT_EQ(dataset.labels().scalar_type(), torch::kInt64);
  EXPECT_EQ(dataset.get(1).target.item<int64_t>(), 2);
  EXPECT_NEAR(dataset.get(1).data[0][0][0].item<double>(), (28 * 28 % 251) / 255.0, 1e-6);
  // The training split is not there: the error names the file.
  EXPECT_NE(error_of([&] {
              read_fashion_mnist(dir_, /*train=*/true);
            }).find("train-images-idx3-ubyte.gz"),
            std::string::npos);
}

TEST_F(Datasets, ReadCsvHoldsEachRowsImageAndLabel) {
  // 2x3 images: a header and two rows.
  std::ofstream(dir_ / "tiny.csv")
      << "label,p1,p2,p3,p4,p5,p6\n3,0,1,2,3,4,255\n9,10,20,30,40,50,60\n";
  auto csv = read_csv(dir_ / "tiny.csv", /*height=*/2, /*width=*/3);
  ASSERT_EQ(*csv.size(), 2u);
  EXPECT_TRUE(csv.labels().equal(torch::tensor({3, 9}, torch::kInt64)));
  EXPECT_TRUE(
      csv.images()[0].equal(torch::tensor({0, 1, 2, 3, 4, 255}, torch::kUInt8).view({2, 3})));
  const auto sample = csv.get(1);
  EXPECT_TRUE(
      AllClose(sample.data, torch::tensor({10., 20., 30., 40., 50., 60.}).view({1, 2, 3}) / 255.0));
  EXPECT_EQ(sample.target.item<int64_t>(), 9);
}

TEST_F(Datasets, ReadCsvRefusesTheWrongColumnsOrALabelAboveNine) {
  std::ofstream(dir_ / "wide.csv") << "label,a,b,c\n1,2,3,4\n";
  EXPECT_NE(error_of([&] { read_csv(dir_ / "wide.csv", 1, 2); }).find("4 columns, expected"),
            std::string::npos);
  std::ofstream(dir_ / "label.csv") << "label,a,b\n1,2,3\n12,2,3\n";
  EXPECT_NE(error_of([&] { read_csv(dir_ / "label.csv", 1, 2); }).find("label above 9"),
            std::string::npos);
}

TEST_F(Datasets, ImageFolderNumbersSortedClassFoldersAndReadsTheirPngs) {
  // b_bags/{1,0}.png and a_boots/5.png, written out of order; each pixel a known value.
  const auto pixels = [](int offset) {
    return (torch::arange(12).view({3, 4}) + offset).to(torch::kUInt8);
  };
  write_png(dir_ / "b_bags" / "1.png", pixels(10));
  write_png(dir_ / "b_bags" / "0.png", pixels(20));
  write_png(dir_ / "a_boots" / "5.png", pixels(30));
  std::ofstream(dir_ / "b_bags" / "notes.txt") << "not an image";

  ImageFolderDataset folder(dir_, /*height=*/3, /*width=*/4);
  EXPECT_EQ(folder.classes(), (std::vector<std::string>{"a_boots", "b_bags"}));
  ASSERT_EQ(*folder.size(), 3u);
  const std::vector<std::string> names = {"5.png", "0.png", "1.png"};
  const std::vector<int64_t> labels = {0, 1, 1};
  const std::vector<int> offsets = {30, 20, 10};
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(folder.path(i).filename(), names[i]);
    const auto sample = folder.get(i);
    EXPECT_EQ(sample.target.item<int64_t>(), labels[i]);
    EXPECT_TRUE(AllClose(sample.data, pixels(offsets[i]).unsqueeze(0).to(torch::kFloat32) / 255.0))
        << i;
  }
  // A broken PNG: get() says which file.
  std::ofstream(dir_ / "b_bags" / "2.png") << "not a png";
  ImageFolderDataset with_broken(dir_, 3, 4);
  EXPECT_NE(error_of([&] { with_broken.get(3); }).find("2.png"), std::string::npos);
  // An image of another size (here 40x30 in colour): get() names the file and both sizes,
  // instead of a shape error from deep inside the loader.
  write_png(dir_ / "b_bags" / "2.png", torch::zeros({3, 30, 40}, torch::kUInt8));
  EXPECT_NE(error_of([&] {
              with_broken.get(3);
            }).find("2.png is 40x30 pixels; this dataset's images are 4x3"),
            std::string::npos)
      << error_of([&] { with_broken.get(3); });
  EXPECT_NE(error_of([&] { ImageFolderDataset empty(dir_ / "b_bags"); }).find("no class folders"),
            std::string::npos);
}

TEST_F(Datasets, CompareReadersFindsADifferentPixelOrLabel) {
  // Six numbered images as PNGs k.png in class folders, a "CSV" dataset in the folder's order.
  auto idx = numbered(6);
  for (int64_t k = 0; k < 6; ++k) {
    write_png(dir_ / ("class_" + std::to_string(k % 2)) / (std::to_string(k) + ".png"),
              idx.images()[k]);
  }
  ImageFolderDataset folder(dir_);
  const auto order = torch::tensor({0, 2, 4, 1, 3, 5});  // class_0, then class_1
  FashionMnistDataset csv(idx.images().index_select(0, order).clone(), order % 2);
  FashionMnistDataset idx_labels(idx.images(), torch::arange(6) % 2);
  EXPECT_EQ(compare_readers(folder, csv, idx_labels), std::make_pair(0.0, int64_t{0}));
  csv.labels()[4].fill_(0);  // one CSV label wrong
  EXPECT_EQ(compare_readers(folder, csv, idx_labels).second, 1);
  auto changed = idx.images().clone();
  changed[5][3][3] += 51;  // one IDX pixel off by 51 / 255 = 0.2
  FashionMnistDataset idx_changed(changed, torch::arange(6) % 2);
  EXPECT_NEAR(compare_readers(folder, csv, idx_changed).first, 0.2, 1e-6);
  csv.labels()[4].fill_(1);  // the CSV right again, one IDX label wrong
  FashionMnistDataset idx_wrong(idx.images(), torch::tensor({0, 1, 0, 1, 1, 1}));
  EXPECT_EQ(compare_readers(folder, csv, idx_wrong), std::make_pair(0.0, int64_t{1}));
}

// ---- the transforms
// ------------------------------------------------------------------------------

TEST_F(Transforms, AffineMatricesMatchPython) {
  const Golden golden("06_datasets");
  const auto params = golden.tensor("affine_matrices/inputs/params");  // (K, 5)
  const auto column = [&](int64_t c) { return params.select(1, c); };
  for (const auto& [height, width] : std::vector<std::pair<int64_t, int64_t>>{{28, 28}, {20, 30}}) {
    const auto theta = course::affine_matrices(column(0), column(1), column(2), column(3),
                                               column(4), height, width);
    const auto name = fmt::format("affine_matrices/outputs/theta_{}x{}", height, width);
    EXPECT_TRUE(AllClose(theta, golden.tensor(name), 1e-6, 1e-7)) << name;  // 8 digits kept
  }
}

TEST_F(Transforms, AffineMatchesPython) {
  const Golden golden("06_datasets");
  const auto out =
      affine(golden.tensor("affine/inputs/images"), golden.tensor("affine/inputs/theta"));
  EXPECT_TRUE(AllClose(out, golden.tensor("affine/outputs/transformed"), 1e-4, 1e-5));
}

TEST_F(Transforms, AMirrorOrAWholePixelShiftIsExactlyAFlipOrAPaddedCrop) {
  const auto image = torch::arange(42, torch::kFloat32).view({1, 1, 6, 7});
  const auto one = [](double value) { return torch::full({1}, value, torch::kFloat64); };
  const auto theta = [&](double dx, double dy, double flip) {
    return course::affine_matrices(one(0), one(dx), one(dy), one(1), one(flip), 6, 7);
  };
  EXPECT_TRUE(AllClose(affine(image, theta(0, 0, 1)), image.flip({-1}), 0, 1e-4));
  // 1 right, 2 down: pad by 2 and keep the window at top 0, left 1. Python: F.pad, then a slice
  const auto padded = F::pad(image, F::PadFuncOptions({2, 2, 2, 2}));
  EXPECT_TRUE(
      AllClose(affine(image, theta(1, 2, 0)), padded.slice(2, 0, 6).slice(3, 1, 8), 0, 1e-4));
}

TEST_F(Transforms, AugmentWithOnlyAFlipMirrorsEveryImage) {
  const auto batch = torch::rand({4, 1, 28, 28});
  EXPECT_TRUE(AllClose(augment(batch, only_flip()), batch.flip({-1}), 0, 1e-5));
}

TEST_F(Transforms, RandomMatricesDrawEveryChangeFromItsWholeRange) {
  Config config;  // flip 0.5, shift 2, 10 degrees, scale 0.9..1.1
  const auto theta = random_matrices(/*batch=*/4000, 28, 28, config);  // (B, 2, 3)
  ASSERT_EQ(theta.sizes(), (std::vector<int64_t>{4000, 2, 3}));
  // On a square image row 1 is (sin, cos, ...) / scale and row 0 starts with mirror * cos / scale.
  const auto sin_s = theta.select(1, 1).select(1, 0), cos_s = theta.select(1, 1).select(1, 1);
  const auto degrees = torch::atan2(sin_s, cos_s) * (180.0 / M_PI);
  const auto scale = 1.0 / torch::hypot(sin_s, cos_s);
  const auto mirror = theta.select(1, 0).select(1, 0) / cos_s;  // -1 or 1
  // The shift, undone from the third column (see course::affine_matrices).
  const auto a = -theta.select(1, 0).select(1, 2) * mirror * scale * 14.0;  // cos dx - sin dy
  const auto b = -theta.select(1, 1).select(1, 2) * scale * 14.0;           // sin dx + cos dy
  const auto radians = degrees * (M_PI / 180.0);
  const auto dx = torch::cos(radians) * a + torch::sin(radians) * b;
  const auto dy = -torch::sin(radians) * a + torch::cos(radians) * b;
  const auto range = [](const torch::Tensor& x) {
    return std::make_pair(x.min().item<double>(), x.max().item<double>());
  };
  EXPECT_TRUE(AllClose(mirror.abs(), torch::ones({4000}, torch::kFloat64), 0, 1e-9));
  EXPECT_NEAR(mirror.lt(0).to(torch::kFloat64).mean().item<double>(), 0.5, 0.05);
  EXPECT_GE(range(degrees).first, -10.0 - 1e-9);  // both ways, up to 10 degrees
  EXPECT_LT(range(degrees).first, -9.0);
  EXPECT_GT(range(degrees).second, 9.0);
  EXPECT_LE(range(degrees).second, 10.0 + 1e-9);
  EXPECT_LT(range(scale).first, 0.91);  // 0.9 .. 1.1
  EXPECT_GE(range(scale).first, 0.9 - 1e-9);
  EXPECT_GT(range(scale).second, 1.09);
  EXPECT_LE(range(scale).second, 1.1 + 1e-9);
  for (const auto& shift : {dx, dy}) {  // whole pixels, -2 .. 2, each about a fifth of the time
    EXPECT_TRUE(AllClose(shift, shift.round(), 0, 1e-6));
    for (int pixels = -2; pixels <= 2; ++pixels) {
      EXPECT_NEAR(shift.round().eq(pixels).to(torch::kFloat64).mean().item<double>(), 0.2, 0.04)
          << pixels;
    }
  }
}

TEST_F(Transforms, AugmentMirrorsAboutHalfTheImagesAndShiftsByAtMostMaxShift) {
  const auto batch = torch::rand({64, 1, 28, 28});
  Config config = only_flip();
  config.flip_probability = 0.5;
  const auto out = augment(batch, config);
  int mirrored = 0;
  for (int64_t i = 0; i < 64; ++i) {
    if (AllClose(out[i], batch[i].flip({-1}), 0, 1e-5)) ++mirrored;
  }
  EXPECT_GT(mirrored, 16);  // about 32 of 64
  EXPECT_LT(mirrored, 48);
  // Only shifts of up to 2 pixels: each output is one of the 25 padded crops of its input.
  config = only_flip();
  config.flip_probability = 0.0;
  config.max_shift = 2;
  const auto shifted = augment(batch.slice(0, 0, 16), config);
  const auto padded = F::pad(batch.slice(0, 0, 16), F::PadFuncOptions({2, 2, 2, 2}));
  int moved = 0;
  for (int64_t i = 0; i < 16; ++i) {
    bool found = false;
    for (int64_t top = 0; top <= 4; ++top) {
      for (int64_t left = 0; left <= 4; ++left) {
        const auto crop = padded[i].slice(1, top, top + 28).slice(2, left, left + 28);
        if (AllClose(shifted[i], crop, 0, 1e-4)) {
          found = true;
          moved += top != 2 || left != 2;
        }
      }
    }
    EXPECT_TRUE(found) << "image " << i << " is not a shift of at most 2 pixels";
  }
  EXPECT_GT(moved, 8);  // 24 of 25 shifts move the image
}

TEST_F(Transforms, AugmentKeepsTheShapeChangesTheImagesAndRepeatsWithTheSeed) {
  const auto batch = torch::rand({16, 1, 28, 28});
  torch::manual_seed(5);
  const auto out = augment(batch, Config{});
  EXPECT_EQ(out.sizes(), batch.sizes());
  EXPECT_GT((out - batch).abs().mean().item<double>(), 0.01);
  torch::manual_seed(5);
  EXPECT_TRUE(torch::equal(augment(batch, Config{}), out));
}

// ---- samplers, loaders and the fast path
// ---------------------------------------------------------

TEST_F(Loaders, FirstLabelsShowTheSamplersOrder) {
  using namespace torch::data::samplers;
  EXPECT_EQ(first_labels<SequentialSampler>(numbered(40), 16),
            "labels 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 (10 distinct)");
  FashionMnistDataset sorted(numbered(40).images(), torch::div(torch::arange(40), 4, "floor"));
  EXPECT_EQ(first_labels<SequentialSampler>(sorted, 16),
            "labels 0 0 0 0 1 1 1 1 2 2 2 2 3 3 3 3 (4 distinct)");
  EXPECT_NE(first_labels<RandomSampler>(sorted, 16),
            "labels 0 0 0 0 1 1 1 1 2 2 2 2 3 3 3 3 (4 distinct)");
}

TEST_F(Loaders, EveryWayYieldsEverySampleOncePerPassNormalisedWithItsLabel) {
  const int64_t n = 150;  // not a multiple of the batch size: the last batch is short
  const auto work = numbered(n);
  for (int64_t k = 0; k < 5; ++k) {  // a PNG folder of the first five images
    write_png(dir_ / ("class_" + std::to_string(k % 2)) / (std::to_string(k) + ".png"),
              work.images()[k]);
  }
  Config config;
  config.batch_size = 16;
  const auto ways = ways_to_feed(work, ImageFolderDataset(dir_), config);
  const std::vector<std::string> keys = {
      "loader_w0_samples_per_s",    "loader_samples_per_s",    "loader_augment_samples_per_s",
      "image_folder_samples_per_s", "fast_path_samples_per_s", "fast_path_augment_samples_per_s"};
  ASSERT_EQ(ways.size(), keys.size());
  const auto expected = course::normalize_fashion(work.images());  // (N, 1, 28, 28)
  for (size_t w = 0; w < ways.size(); ++w) {
    const Way& way = ways[w];
    EXPECT_EQ(way.key, keys[w]);
    const bool augmented = way.key.find("augment") != std::string::npos;
    const bool folder = way.key == "image_folder_samples_per_s";
    EXPECT_EQ(way.samples, folder ? 5 : n) << way.name;
    std::vector<int64_t> orders[2], labels;
    for (auto& order : orders) {
      way.pass([&](const torch::Tensor& images, const torch::Tensor& targets) {
        ASSERT_EQ(images.dim(), 4);
        EXPECT_LE(images.size(0), 16);
        EXPECT_EQ(images.sizes().slice(1), (std::vector<int64_t>{1, 28, 28}));
        if (augmented) {  // the index pixel moved: check the labels as a whole, below
          labels.insert(labels.end(), targets.data_ptr<int64_t>(),
                        targets.data_ptr<int64_t>() + targets.numel());
          return;
        }
        const auto indices = indices_of(images);
        const auto index = torch::tensor(indices);
        EXPECT_TRUE(AllClose(images, expected.index_select(0, index), 1e-5, 1e-5)) << way.name;
        EXPECT_TRUE(targets.equal(folder ? index % 2 : index % 10)) << way.name;
        order.insert(order.end(), indices.begin(), indices.end());
      });
    }
    if (augmented) {
      std::sort(labels.begin(), labels.end());
      std::vector<int64_t> twice;
      for (int pass = 0; pass < 2; ++pass) {
        for (int64_t i = 0; i < n; ++i) twice.push_back(i % 10);
      }
      std::sort(twice.begin(), twice.end());
      EXPECT_EQ(labels, twice) << way.name;
      continue;
    }
    for (const auto& order : orders) {
      std::vector<int64_t> sorted = order;
      std::sort(sorted.begin(), sorted.end());
      EXPECT_EQ(sorted, iota(way.samples)) << way.name;
    }
    if (!folder) {  // 150 samples: a random order, and a new one every pass
      EXPECT_FALSE(std::is_sorted(orders[0].begin(), orders[0].end())) << way.name;
      EXPECT_NE(orders[0], orders[1]) << way.name;
    }
  }
}

TEST_F(Loaders, TheAugmentingWaysChangeTheImages) {
  const auto work = numbered(64);
  write_png(dir_ / "class_0" / "0.png", work.images()[0]);
  Config config;
  config.flip_probability = 1.0;  // every image mirrored: never the image itself
  config.batch_size = 64;
  const auto ways = ways_to_feed(work, ImageFolderDataset(dir_), config);
  const auto originals = course::normalize_fashion(work.images()).flatten(1);  // (64, 784)
  for (const size_t w : {2, 5}) {
    ways[w].pass([&](const torch::Tensor& images, const torch::Tensor&) {
      EXPECT_TRUE(torch::isfinite(images).all().item<bool>());
      // Every image is mirrored, so none is any of the originals. (B, 64) distances:
      const auto distances = torch::cdist(images.flatten(1), originals);
      EXPECT_GT(distances.min().item<double>(), 1.0) << ways[w].name;
    });
  }
}

TEST_F(Loaders, MeasureCountsTheSamplesAndRefusesAPassThatMissesSome) {
  Way way{"ten", "ten_per_s", 10, [](const Visit& visit) {
            visit(torch::zeros({6, 1, 28, 28}), torch::zeros({6}, torch::kInt64));
            visit(torch::zeros({4, 1, 28, 28}), torch::zeros({4}, torch::kInt64));
          }};
  EXPECT_GT(measure(way, /*epochs=*/2), 0.0);
  way.samples = 11;
  EXPECT_NE(error_of([&] { measure(way, 1); }).find("ten: saw 10 samples, expected 11"),
            std::string::npos);
}
