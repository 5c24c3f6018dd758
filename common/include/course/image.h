// image.h: tensors to and from OpenCV images, and saving a tensor as a PNG.
#pragma once

#include <torch/torch.h>
#include <opencv2/core.hpp>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace course {

/// A cv::Mat of 8-bit pixels from an image tensor: (H, W) gray or (3, H, W) RGB, uint8 in 0..255
/// or floating point in 0..1. The Mat owns a copy (BGR order for colour, as OpenCV expects).
cv::Mat to_mat(const torch::Tensor& image);

/// A tensor from a cv::Mat: (H, W) for one channel, (C, H, W) for several (BGR turned into RGB),
/// uint8 for CV_8U, float32 otherwise. The tensor owns a copy: the Mat may go away.
torch::Tensor from_mat(const cv::Mat& mat);

/// Writes an image tensor (as to_mat accepts) to a PNG; creates the folder. Throws on failure.
void save_png(const torch::Tensor& image, const std::filesystem::path& path);

/// Tiles N images (N, H, W) or (N, C, H, W) into one grid image with `columns` per row.
torch::Tensor make_grid(const torch::Tensor& images, int columns, int padding = 2);

/// Saves uint8 images (N, H, W) as one PNG grid, each tile enlarged `scale` times with up to two
/// caption lines under it: the first in green, the second in red (for example the true and the
/// predicted class). `captions` has one pair per image.
void save_captioned_grid(const torch::Tensor& images,
                         const std::vector<std::pair<std::string, std::string>>& captions,
                         const std::filesystem::path& path, int columns = 8, int scale = 4);

}  // namespace course
