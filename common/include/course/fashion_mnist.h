// fashion_mnist.h: reading Fashion-MNIST's IDX files straight from the .gz files Debian ships
// (dataset-fashion-mnist), with every header field checked. Lesson 06 explains how it works.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "course/flags.h"

namespace course {

/// The ten Fashion-MNIST classes, by label. Python: course_common.FASHION_CLASSES.
inline const std::vector<std::string> kFashionClasses = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

/// Fashion-MNIST's mean and standard deviation over the 60000 training images' pixels, after /255.
/// Python: course_common.FASHION_MEAN, FASHION_STD.
constexpr double kFashionMean = 0.2860;
constexpr double kFashionStd = 0.3530;

/// Reads an IDX file (gzip-compressed or not) of unsigned bytes: magic 0x0000080D where D is the
/// number of dimensions, then D big-endian sizes, then the data. Returns a uint8 tensor of that
/// shape. Throws std::runtime_error naming the file on a bad magic number, an unsupported type,
/// absurd sizes, a truncated file, trailing bytes or a corrupt gzip stream.
torch::Tensor read_idx(const std::filesystem::path& path);

/// One split of Fashion-MNIST.
struct FashionMnist {
  torch::Tensor images;  ///< (N, 28, 28) uint8, 0..255
  torch::Tensor labels;  ///< (N,) int64, 0..9
};

/// Loads the train (60000) or test (10000) split from `dir` (a folder with the four .gz files,
/// as course::find_dataset("fashion-mnist", ...) returns). `limit` > 0 keeps the first `limit`
/// samples. Checks that images and labels agree in count and that labels are 0..9.
FashionMnist load_fashion_mnist(const std::filesystem::path& dir, bool train, int64_t limit = 0);

/// The four file names, for course::find_dataset.
std::vector<std::string> fashion_mnist_files();

/// What most lessons want: the split found through --data-dir (course::find_dataset) and, with
/// --smoke, its first kSmokeSamples samples only.
FashionMnist load_fashion_mnist(const Options& options, bool train);

/// uint8 images (N, 28, 28) in 0..255 -> float32 (N, 1, 28, 28) with mean about 0 and standard
/// deviation about 1: (x / 255 - kFashionMean) / kFashionStd. A model that wants rows of 784
/// flattens them. Python: course_common.normalize_fashion.
torch::Tensor normalize_fashion(const torch::Tensor& images);

}  // namespace course
