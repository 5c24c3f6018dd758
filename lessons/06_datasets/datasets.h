// datasets.h: lesson 06's data pipeline. Three datasets (Fashion-MNIST's IDX files, a folder of
// PNGs, a CSV file), image transforms (normalise, flip, crop, affine) and their random versions.
//
// Dimension legend: N = samples, B = batch, C = channels (1: gray), H x W = image (28 x 28).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace course::datasets {

/// Mean and standard deviation of Fashion-MNIST's training pixels (in 0..1).
inline constexpr double kMean = 0.2860;
inline constexpr double kStd = 0.3530;

/// The folder that datasets/make_datasets.py writes, and the CSV file inside it.
inline constexpr const char* kPngDatasetName = "fashion-mnist-png";
inline constexpr const char* kCsvFileName = "fashion-mnist.csv";

/// Finds the fashion-mnist-png folder (see course::find_dataset). When it is missing, the error
/// says which command makes it.
std::filesystem::path find_png_dataset(const std::string& data_dir);

// ---- 1. Fashion-MNIST from its IDX files ------------------------------------------------------

/// Fashion-MNIST as a torch::data dataset. It holds the uint8 pixels in memory and turns one
/// sample into floats when get() is called.
class FashionMnistDataset : public torch::data::datasets::Dataset<FashionMnistDataset> {
 public:
  /// Reads dir/{train,t10k}-{images,labels}-idx{3,1}-ubyte.gz with course::read_idx.
  /// `limit` > 0 keeps the first `limit` samples.
  FashionMnistDataset(const std::filesystem::path& dir, bool train, int64_t limit = 0);
  /// From tensors already in memory: images (N, H, W) uint8, labels (N,) int64.
  FashionMnistDataset(torch::Tensor images, torch::Tensor labels);

  /// Sample `index`: data (1, H, W) float in 0..1, target () int64.
  torch::data::Example<> get(size_t index) override;
  std::optional<size_t> size() const override;

  const torch::Tensor& images() const { return images_; }  ///< (N, H, W) uint8
  const torch::Tensor& labels() const { return labels_; }  ///< (N,) int64

 private:
  torch::Tensor images_;
  torch::Tensor labels_;
};

// ---- 2. A folder of PNG files: root/<class>/<name>.png -----------------------------------------

/// Like torchvision's ImageFolder: every sub-folder of `root` is a class (label = its place in
/// sorted order), every .png inside is a sample. get() reads the file with cv::imread.
class ImageFolderDataset : public torch::data::datasets::Dataset<ImageFolderDataset> {
 public:
  /// Lists the files (sorted by name, so the order is the same on every machine). Throws when
  /// `root` has no class folders or a class folder has no .png files.
  explicit ImageFolderDataset(const std::filesystem::path& root);

  /// Sample `index`: data (1, H, W) float in 0..1, target () int64. Throws when the file is not
  /// a readable image.
  torch::data::Example<> get(size_t index) override;
  std::optional<size_t> size() const override;

  const std::vector<std::string>& classes() const { return classes_; }
  const std::filesystem::path& path(size_t index) const { return paths_.at(index); }

 private:
  std::vector<std::string> classes_;
  std::vector<std::filesystem::path> paths_;
  std::vector<int64_t> labels_;
};

// ---- 3. A CSV file: label,pixel1,...,pixelP with one header line -------------------------------

/// Parses the whole file once, into (N, H, W) uint8 pixels and (N,) labels; get() is then as
/// cheap as FashionMnistDataset's.
class CsvDataset : public torch::data::datasets::Dataset<CsvDataset> {
 public:
  /// Throws with the file name and line number on a row with the wrong number of values, a value
  /// that is not an integer in 0..255, or a label outside 0..9.
  explicit CsvDataset(const std::filesystem::path& path, int64_t height = 28, int64_t width = 28);

  torch::data::Example<> get(size_t index) override;
  std::optional<size_t> size() const override;

  const torch::Tensor& images() const { return images_; }  ///< (N, H, W) uint8
  const torch::Tensor& labels() const { return labels_; }  ///< (N,) int64

 private:
  torch::Tensor images_;
  torch::Tensor labels_;
};

// ---- 4. Transforms: tensor in, tensor out ------------------------------------------------------
// Each works on one image (C, H, W) or a batch (B, C, H, W); H and W are the last two dims.

/// (x - mean) / std. Python: torchvision.transforms.Normalize(mean, std)
torch::Tensor normalize(const torch::Tensor& images, double mean = kMean, double stddev = kStd);

/// Mirror left-right. Python: images.flip(-1)
torch::Tensor hflip(const torch::Tensor& images);

/// Pads every side with `padding` zeros, then keeps the H x W window at (top, left), where
/// 0 <= top, left <= 2 * padding. top = left = padding gives the image back unchanged.
torch::Tensor pad_crop(const torch::Tensor& images, int64_t padding, int64_t top, int64_t left);

/// The (2, 3) matrix for torch::nn::functional::affine_grid that rotates by `degrees`
/// (counter-clockwise), scales by `scale`, shifts by (shift_x, shift_y) pixels and, with `flip`,
/// mirrors left-right, all around the image centre.
torch::Tensor affine_matrix(double degrees, double shift_x, double shift_y, double scale, bool flip,
                            int64_t height, int64_t width);

/// Applies one matrix per image (theta (B, 2, 3), or (2, 3) for one image): affine_grid, then
/// grid_sample with bilinear interpolation and zeros outside. Python: F.grid_sample(x, grid)
torch::Tensor affine(const torch::Tensor& images, const torch::Tensor& theta);

/// How strong the random augmentation is.
struct AugmentOptions {
  double flip_probability = 0.5;  ///< chance of a left-right mirror
  int64_t crop_padding = 2;       ///< random crop moves the image up to this many pixels
  double max_degrees = 10.0;      ///< rotation drawn from [-max, max]
  double max_scale_change = 0.1;  ///< scale drawn from [1 - c, 1 + c]
};

/// One image (C, H, W): random flip, then random crop with padding, then a small random rotation
/// and scale. Draws from LibTorch's default generator.
torch::Tensor augment(const torch::Tensor& image, const AugmentOptions& options);

/// A whole batch (B, C, H, W) at once: the same kinds of change, one random matrix per image,
/// one grid_sample call for the batch (the fast path's augmentation).
torch::Tensor augment_batch(const torch::Tensor& images, const AugmentOptions& options);

}  // namespace course::datasets
