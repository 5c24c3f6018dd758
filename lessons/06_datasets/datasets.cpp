// datasets.cpp: the three datasets and the transforms of lesson 06.
#include "datasets.h"

#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "course/data.h"
#include "course/fashion_mnist.h"
#include "course/image.h"

namespace fs = std::filesystem;
namespace F = torch::nn::functional;

namespace course::datasets {
namespace {

constexpr double kPi = 3.14159265358979323846;

constexpr const char* kMakeCommand =
    "python3 datasets/make_datasets.py (run it in the course folder; ./course setup runs it too)";

// A uint8 image (H, W) as the float (1, H, W) in 0..1 that every dataset's get() returns.
torch::Tensor to_float_image(const torch::Tensor& pixels) {
  return pixels.unsqueeze(0).to(torch::kFloat32).div(255.0);  // (1, H, W)
}

// Checks an index passed to get(): the loader's samplers never pass a bad one, a learner might.
int64_t checked_index(size_t index, size_t size) {
  TORCH_CHECK(index < size, "sample index ", index, " is out of range for a dataset of ", size);
  return static_cast<int64_t>(index);
}

// One (2, 3) affine_grid matrix per image, from tensors of B parameters each (see affine_matrix).
torch::Tensor affine_matrices(const torch::Tensor& degrees, const torch::Tensor& shift_x,
                              const torch::Tensor& shift_y, const torch::Tensor& scale,
                              const torch::Tensor& flip, int64_t height, int64_t width) {
  // affine_grid wants the inverse map, output pixel -> input pixel, in coordinates where the
  // image spans -1..1. In pixels (origin at the centre) the inverse of "mirror, rotate, scale,
  // shift" is p_in = M R (p_out - shift) / scale, with R the rotation and M the mirror
  // (x -> -x when flipping). D = diag(W/2, H/2) turns -1..1 coordinates into pixels.
  const auto radians = degrees * (kPi / 180.0);
  const auto cos_a = torch::cos(radians), sin_a = torch::sin(radians);
  const auto sign = 1.0 - 2.0 * flip.to(cos_a.dtype());  // -1 where flipped
  const double h = static_cast<double>(height), w = static_cast<double>(width);
  const auto row0 = torch::stack({sign * cos_a / scale, -sign * sin_a * (h / w) / scale,
                                  -sign * (cos_a * shift_x - sin_a * shift_y) / (w / 2.0) / scale},
                                 /*dim=*/1);  // (B, 3)
  const auto row1 = torch::stack({sin_a * (w / h) / scale, cos_a / scale,
                                  -(sin_a * shift_x + cos_a * shift_y) / (h / 2.0) / scale},
                                 /*dim=*/1);     // (B, 3)
  return torch::stack({row0, row1}, /*dim=*/1);  // (B, 2, 3)
}

}  // namespace

fs::path find_png_dataset(const std::string& data_dir) {
  try {
    return course::find_dataset(kPngDatasetName, data_dir, {kCsvFileName});
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(fmt::format("{}\nmake it with: {}", e.what(), kMakeCommand));
  }
}

// ---- 1. Fashion-MNIST from its IDX files ------------------------------------------------------

FashionMnistDataset::FashionMnistDataset(const fs::path& dir, bool train, int64_t limit) {
  const std::string prefix = train ? "train" : "t10k";
  // read_idx checks the header and returns the data with the shape the header gives.
  images_ = course::read_idx(dir / (prefix + "-images-idx3-ubyte.gz"));  // (N, 28, 28) uint8
  labels_ = course::read_idx(dir / (prefix + "-labels-idx1-ubyte.gz"));  // (N,) uint8
  TORCH_CHECK(images_.dim() == 3, dir.string(), ": the images file should have 3 dimensions");
  TORCH_CHECK(labels_.dim() == 1 && labels_.size(0) == images_.size(0), dir.string(), ": ",
              labels_.numel(), " labels for ", images_.size(0), " images");
  labels_ = labels_.to(torch::kInt64);  // the loss functions want int64 class indices
  if (limit > 0 && limit < images_.size(0)) {
    images_ = images_.slice(/*dim=*/0, 0, limit);  // Python: images[:limit]
    labels_ = labels_.slice(/*dim=*/0, 0, limit);
  }
}

FashionMnistDataset::FashionMnistDataset(torch::Tensor images, torch::Tensor labels)
    : images_(std::move(images)), labels_(std::move(labels)) {
  TORCH_CHECK(images_.dim() == 3 && images_.scalar_type() == torch::kUInt8,
              "FashionMnistDataset wants images (N, H, W) uint8, got ", images_.sizes());
  TORCH_CHECK(labels_.dim() == 1 && labels_.size(0) == images_.size(0),
              "FashionMnistDataset wants one label per image");
}

torch::data::Example<> FashionMnistDataset::get(size_t index) {
  const int64_t i = checked_index(index, static_cast<size_t>(images_.size(0)));
  return {to_float_image(images_[i]), labels_[i]};  // (1, H, W), ()
}

std::optional<size_t> FashionMnistDataset::size() const {
  return static_cast<size_t>(images_.size(0));
}

// ---- 2. A folder of PNG files ------------------------------------------------------------------

ImageFolderDataset::ImageFolderDataset(const fs::path& root) {
  std::error_code error;
  if (!fs::is_directory(root, error)) {
    throw std::runtime_error(
        fmt::format("{} is not a folder; make it with: {}", root.string(), kMakeCommand));
  }
  for (const auto& entry : fs::directory_iterator(root)) {
    if (entry.is_directory()) classes_.push_back(entry.path().filename().string());
  }
  // directory_iterator's order depends on the file system: sort, so label k is the same folder
  // on every machine. Python: sorted(os.listdir(root))
  std::sort(classes_.begin(), classes_.end());
  if (classes_.empty()) {
    throw std::runtime_error(
        fmt::format("{} has no class folders; make it with: {}", root.string(), kMakeCommand));
  }
  for (size_t label = 0; label < classes_.size(); ++label) {
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(root / classes_[label])) {
      if (entry.is_regular_file() && entry.path().extension() == ".png") {
        files.push_back(entry.path());
      }
    }
    if (files.empty()) {
      throw std::runtime_error(
          fmt::format("class folder {} has no .png files", (root / classes_[label]).string()));
    }
    std::sort(files.begin(), files.end());
    for (auto& file : files) {
      paths_.push_back(std::move(file));
      labels_.push_back(static_cast<int64_t>(label));
    }
  }
}

torch::data::Example<> ImageFolderDataset::get(size_t index) {
  checked_index(index, paths_.size());
  // The work of this dataset: open the file, inflate the PNG, copy the pixels into a tensor.
  const cv::Mat mat = cv::imread(paths_[index].string(), cv::IMREAD_GRAYSCALE);  // H x W, 8-bit
  if (mat.empty()) {
    throw std::runtime_error(
        fmt::format("cannot read {} as an image; make the folder again with: {}",
                    paths_[index].string(), kMakeCommand));
  }
  return {to_float_image(course::from_mat(mat)), torch::tensor(labels_[index])};
}

std::optional<size_t> ImageFolderDataset::size() const {
  return paths_.size();
}

// ---- 3. A CSV file -----------------------------------------------------------------------------

CsvDataset::CsvDataset(const fs::path& path, int64_t height, int64_t width) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    throw std::runtime_error(
        fmt::format("cannot open {}; make it with: {}", path.string(), kMakeCommand));
  }
  std::stringstream whole;
  whole << file.rdbuf();  // one read of the whole file; parsing from memory is much faster
  const std::string text = whole.str();

  const size_t pixels_per_row = static_cast<size_t>(height * width);
  std::vector<uint8_t> pixels;
  std::vector<int64_t> labels;
  size_t line_number = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    size_t stop = end;
    if (stop > start && text[stop - 1] == '\r') --stop;  // a file saved on Windows
    const char* cursor = text.data() + start;
    const char* const line_end = text.data() + stop;
    start = end + 1;
    ++line_number;
    if (line_number == 1 || cursor == line_end) continue;  // the header, or an empty line

    const auto fail = [&](const std::string& what) {
      throw std::runtime_error(fmt::format("{} line {}: {}", path.string(), line_number, what));
    };
    size_t values = 0;
    while (true) {
      int value = 0;
      const auto [next, code] = std::from_chars(cursor, line_end, value);
      if (code != std::errc() || value < 0 || value > 255) {
        fail(fmt::format("value {} is not an integer in 0..255", values + 1));
      }
      if (values == 0) {
        if (value > 9) fail(fmt::format("label {} is not in 0..9", value));
        labels.push_back(value);
      } else {
        pixels.push_back(static_cast<uint8_t>(value));
      }
      ++values;
      cursor = next;
      if (cursor == line_end) break;
      if (*cursor != ',') fail(fmt::format("unexpected '{}' after value {}", *cursor, values));
      ++cursor;
    }
    if (values != pixels_per_row + 1) {
      fail(fmt::format("{} values, expected {} (a label and {} pixels)", values, pixels_per_row + 1,
                       pixels_per_row));
    }
  }
  if (labels.empty()) throw std::runtime_error(fmt::format("{} has no data rows", path.string()));

  const auto count = static_cast<int64_t>(labels.size());
  // from_blob wraps the vector's memory without copying; clone() copies it into the tensor's own.
  images_ = torch::from_blob(pixels.data(), {count, height, width}, torch::kUInt8).clone();
  labels_ = torch::tensor(labels, torch::kInt64);
}

torch::data::Example<> CsvDataset::get(size_t index) {
  const int64_t i = checked_index(index, static_cast<size_t>(images_.size(0)));
  return {to_float_image(images_[i]), labels_[i]};
}

std::optional<size_t> CsvDataset::size() const {
  return static_cast<size_t>(images_.size(0));
}

// ---- 4. Transforms ------------------------------------------------------------------------------

torch::Tensor normalize(const torch::Tensor& images, double mean, double stddev) {
  return (images - mean) / stddev;
}

torch::Tensor hflip(const torch::Tensor& images) {
  return images.flip({-1});
}

torch::Tensor pad_crop(const torch::Tensor& images, int64_t padding, int64_t top, int64_t left) {
  TORCH_CHECK(images.dim() >= 2, "pad_crop wants (..., H, W), got ", images.sizes());
  TORCH_CHECK(padding >= 0 && top >= 0 && left >= 0 && top <= 2 * padding && left <= 2 * padding,
              "pad_crop: top and left must be in 0..2*padding, got ", top, ", ", left);
  const int64_t height = images.size(-2), width = images.size(-1);
  // Python: F.pad(images, (p, p, p, p))[..., top:top + H, left:left + W]
  const auto padded =
      F::pad(images, F::PadFuncOptions({padding, padding, padding, padding}));  // H+2p x W+2p
  return padded.slice(-2, top, top + height).slice(-1, left, left + width);     // H x W
}

torch::Tensor affine_matrix(double degrees, double shift_x, double shift_y, double scale, bool flip,
                            int64_t height, int64_t width) {
  TORCH_CHECK(scale > 0, "affine_matrix: scale must be positive, got ", scale);
  const auto one = [](double value) { return torch::full({1}, value, torch::kFloat64); };
  return affine_matrices(one(degrees), one(shift_x), one(shift_y), one(scale),
                         one(flip ? 1.0 : 0.0), height, width)[0]
      .to(torch::kFloat32);  // (2, 3)
}

torch::Tensor affine(const torch::Tensor& images, const torch::Tensor& theta) {
  const bool single = images.dim() == 3;
  const auto batch = single ? images.unsqueeze(0) : images;  // (B, C, H, W)
  const auto matrices = (theta.dim() == 2 ? theta.unsqueeze(0) : theta).to(batch.dtype());
  TORCH_CHECK(batch.dim() == 4 && matrices.size(0) == batch.size(0),
              "affine wants images (B, C, H, W) and theta (B, 2, 3), got ", images.sizes(), " and ",
              theta.sizes());
  // For every output pixel, where to read in the input (B, H, W, 2), then bilinear reads there.
  const auto grid = F::affine_grid(matrices, batch.sizes(), /*align_corners=*/false);
  const auto out = F::grid_sample(batch, grid,
                                  F::GridSampleFuncOptions()
                                      .mode(torch::kBilinear)
                                      .padding_mode(torch::kZeros)
                                      .align_corners(false));
  return single ? out.squeeze(0) : out;
}

torch::Tensor augment(const torch::Tensor& image, const AugmentOptions& options) {
  torch::Tensor out = image;  // (C, H, W)
  if (torch::rand({1}).item<double>() < options.flip_probability) out = hflip(out);
  const int64_t pad = options.crop_padding;
  const auto offsets = torch::randint(0, 2 * pad + 1, {2});  // top, left in 0..2*pad
  out = pad_crop(out, pad, offsets[0].item<int64_t>(), offsets[1].item<int64_t>());
  const auto u = torch::rand({2}, torch::kFloat64) * 2.0 - 1.0;  // two numbers in [-1, 1)
  const double degrees = u[0].item<double>() * options.max_degrees;
  const double scale = 1.0 + u[1].item<double>() * options.max_scale_change;
  return affine(out, affine_matrix(degrees, 0.0, 0.0, scale, false, out.size(-2), out.size(-1)));
}

torch::Tensor augment_batch(const torch::Tensor& images, const AugmentOptions& options) {
  TORCH_CHECK(images.dim() == 4, "augment_batch wants (B, C, H, W), got ", images.sizes());
  const int64_t batch = images.size(0);
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  const auto flip = torch::rand({batch}, f64) < options.flip_probability;  // (B,) bool
  const int64_t pad = options.crop_padding;
  const auto shift = torch::randint(-pad, pad + 1, {batch, 2}, f64);  // (B, 2) whole pixels
  const auto u = torch::rand({batch, 2}, f64) * 2.0 - 1.0;            // (B, 2) in [-1, 1)
  const auto degrees = u.select(1, 0) * options.max_degrees;
  const auto scale = 1.0 + u.select(1, 1) * options.max_scale_change;
  const auto theta = affine_matrices(degrees, shift.select(1, 0), shift.select(1, 1), scale, flip,
                                     images.size(2), images.size(3));  // (B, 2, 3)
  return affine(images, theta);
}

}  // namespace course::datasets
