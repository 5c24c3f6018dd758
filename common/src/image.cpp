// image.cpp: tensor <-> cv::Mat.
#include "course/image.h"

#include <fmt/format.h>
#include <opencv2/imgproc.hpp>

#include <stdexcept>

#include "course/files.h"

namespace course {

cv::Mat to_mat(const torch::Tensor& image) {
  TORCH_CHECK(image.dim() == 2 || (image.dim() == 3 && (image.size(0) == 1 || image.size(0) == 3)),
              "to_mat expects (H, W), (1, H, W) or (3, H, W), got ", image.sizes());
  torch::Tensor pixels = image.detach().to(torch::kCPU);
  if (pixels.is_floating_point()) pixels = (pixels.clamp(0, 1) * 255).round();
  pixels = pixels.to(torch::kUInt8);
  if (pixels.dim() == 3) pixels = pixels.permute({1, 2, 0});  // (C, H, W) -> (H, W, C)
  pixels = pixels.contiguous();
  const int height = static_cast<int>(pixels.size(0));
  const int width = static_cast<int>(pixels.size(1));
  const int channels = pixels.dim() == 3 ? static_cast<int>(pixels.size(2)) : 1;
  // A Mat header over the tensor's memory, then clone() so the Mat owns its pixels.
  cv::Mat view(height, width, CV_8UC(channels), pixels.data_ptr<std::uint8_t>());
  cv::Mat mat = view.clone();
  if (channels == 3) cv::cvtColor(mat, mat, cv::COLOR_RGB2BGR);
  return mat;
}

torch::Tensor from_mat(const cv::Mat& mat) {
  TORCH_CHECK(!mat.empty(), "from_mat got an empty cv::Mat");
  // Convert into a new Mat: with `source = mat` (a shared header), cvtColor would write into the
  // caller's pixels.
  cv::Mat source;
  if (mat.channels() == 3) {
    cv::cvtColor(mat, source, cv::COLOR_BGR2RGB);
  } else {
    source = mat;
  }
  if (!source.isContinuous()) source = source.clone();
  const auto dtype = source.depth() == CV_8U ? torch::kUInt8 : torch::kFloat32;
  if (source.depth() != CV_8U && source.depth() != CV_32F) source.convertTo(source, CV_32F);
  // from_blob wraps memory it does not own; clone() copies it before `source` goes away.
  torch::Tensor tensor =
      torch::from_blob(source.data, {source.rows, source.cols, source.channels()}, dtype).clone();
  if (source.channels() == 1) return tensor.squeeze(2);  // (H, W)
  return tensor.permute({2, 0, 1}).contiguous();         // (H, W, C) -> (C, H, W)
}

void save_png(const torch::Tensor& image, const std::filesystem::path& path) {
  write_png(to_mat(image),
            path);  // in memory, then the atomic write: a full disk costs no old file
}

torch::Tensor make_grid(const torch::Tensor& images, int columns, int padding) {
  TORCH_CHECK(images.dim() == 3 || images.dim() == 4,
              "make_grid expects (N, H, W) or (N, C, H, W)");
  torch::Tensor batch = images.dim() == 3 ? images.unsqueeze(1) : images;  // (N, C, H, W)
  const int64_t count = batch.size(0), channels = batch.size(1);
  const int64_t height = batch.size(2), width = batch.size(3);
  const int64_t rows = (count + columns - 1) / columns;
  torch::Tensor grid = torch::zeros(
      {channels, rows * (height + padding) + padding, columns * (width + padding) + padding},
      batch.options());
  for (int64_t i = 0; i < count; ++i) {
    const int64_t top = (i / columns) * (height + padding) + padding;
    const int64_t left = (i % columns) * (width + padding) + padding;
    using torch::indexing::Slice;
    grid.index_put_({Slice(), Slice(top, top + height), Slice(left, left + width)}, batch[i]);
  }
  return channels == 1 ? grid.squeeze(0) : grid;
}

void save_captioned_grid(const torch::Tensor& images,
                         const std::vector<std::pair<std::string, std::string>>& captions,
                         const std::filesystem::path& path, int columns, int scale) {
  TORCH_CHECK(images.dim() == 3 && images.scalar_type() == torch::kUInt8,
              "save_captioned_grid expects uint8 images (N, H, W), got ", images.scalar_type(), " ",
              images.sizes());
  TORCH_CHECK(static_cast<int64_t>(captions.size()) == images.size(0),
              "save_captioned_grid: ", captions.size(), " captions for ", images.size(0),
              " images");
  constexpr int kCaptionHeight = 34;
  const auto font = cv::FONT_HERSHEY_SIMPLEX;
  std::vector<torch::Tensor> tiles;
  for (int64_t i = 0; i < images.size(0); ++i) {
    cv::Mat gray = to_mat(images[i]), big, tile;                 // H x W
    cv::resize(gray, big, {}, scale, scale, cv::INTER_NEAREST);  // scale*H x scale*W
    cv::cvtColor(big, big, cv::COLOR_GRAY2BGR);
    cv::copyMakeBorder(big, tile, 0, kCaptionHeight, 0, 0, cv::BORDER_CONSTANT,
                       cv::Scalar(255, 255, 255));
    const auto& [first, second] = captions[static_cast<std::size_t>(i)];
    cv::putText(tile, first, {3, big.rows + 14}, font, 0.4, cv::Scalar(0, 130, 0), 1, cv::LINE_AA);
    cv::putText(tile, second, {3, big.rows + 29}, font, 0.4, cv::Scalar(0, 0, 200), 1, cv::LINE_AA);
    tiles.push_back(from_mat(tile));  // (3, scale*H + caption, scale*W) uint8, RGB
  }
  TORCH_CHECK(!tiles.empty(), "save_captioned_grid: no images");
  save_png(make_grid(torch::stack(tiles), columns, /*padding=*/4), path);
}

}  // namespace course
