// fashion_mnist.h: reading Fashion-MNIST's IDX files straight from the .gz files Debian ships
// (dataset-fashion-mnist), with every header field checked. Lesson 06 explains how it works.
#pragma once

#include <torch/torch.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace course {

/// The ten Fashion-MNIST classes, by label.
inline const std::array<const char*, 10> kFashionClasses = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

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

}  // namespace course
