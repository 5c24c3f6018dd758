// latent_pictures.h: lesson 13's pictures of images and of a 2-D latent space: rows of images in
// one PNG, the test set's codes as a scatter plot coloured by class, and the decoded latent plane.
// Drawn with common/'s image helpers (make_grid, to_mat, save_png) and a few OpenCV calls.
#pragma once

#include <torch/torch.h>
#include <opencv2/imgproc.hpp>

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "course/files.h"
#include "course/image.h"
#include "vae.h"

namespace course {

/// Saves rows of images, each (n, 1, 28, 28) with pixels in [0, 1], as one PNG: `columns` images
/// per row (0: the first row's n), each enlarged `scale` times.
inline void save_rows(const std::vector<torch::Tensor>& rows, const std::filesystem::path& path,
                      int columns = 0, int scale = 3) {
  TORCH_CHECK(!rows.empty(), "save_rows: no images");
  if (columns == 0) columns = static_cast<int>(rows.front().size(0));
  const auto grid = make_grid(torch::cat(rows).detach().cpu(), columns);  // (H, W)
  save_png(grid.repeat_interleave(scale, 0).repeat_interleave(scale, 1), path);
}

/// Saves the decoded latent plane of a 2-D code: a steps x steps grid of images decoded from
/// z = (z1, z2), z1 from -extent (left) to extent (right), z2 from extent (top) to -extent.
inline void save_latent_plane(ConvDecoder& decoder, int64_t steps, double extent,
                              const std::filesystem::path& path) {
  torch::NoGradGuard no_grad;
  const auto options = decoder->fc->weight.options();
  TORCH_CHECK(decoder->fc->weight.size(1) == 2, "save_latent_plane needs a 2-D latent, got ",
              decoder->fc->weight.size(1), "; run with --latent 2");
  const auto z1 = torch::linspace(-extent, extent, steps, options);  // (steps,) columns
  const auto z2 = torch::linspace(extent, -extent, steps, options);  // (steps,) rows, top first
  const auto grid = torch::meshgrid({z2, z1}, /*indexing=*/"ij");    // 2 x (steps, steps)
  const auto codes = torch::stack({grid[1].flatten(), grid[0].flatten()}, /*dim=*/1);  // (S*S, 2)
  save_rows({torch::sigmoid(decoder->forward(codes))}, path, static_cast<int>(steps),
            /*scale=*/2);
}

/// Draws 2-D codes (N, 2) as dots coloured by their class (N,) int64, with a legend of the class
/// names, axes through 0 and the axis range printed; writes a PNG.
inline void save_latent_scatter(const torch::Tensor& codes, const torch::Tensor& labels,
                                const std::vector<std::string>& names,
                                const std::filesystem::path& path, int64_t size = 600) {
  TORCH_CHECK(codes.dim() == 2 && codes.size(1) == 2, "save_latent_scatter needs (N, 2) codes, ",
              "got ", codes.sizes(), "; run with --latent 2");
  TORCH_CHECK(labels.dim() == 1 && labels.size(0) == codes.size(0),
              "save_latent_scatter: one label per code");
  const auto xy = codes.detach().to(torch::kCPU, torch::kFloat32);
  // The range: 99.5% of the codes inside, so a few far-out ones do not squash the rest.
  const double extent =
      1.05 * std::max(0.5, torch::quantile(xy.abs().flatten(), 0.995).item<double>());
  const auto pixel = ((xy + extent) / (2 * extent) * (size - 1)).round().clamp(0, size - 1);
  const auto column = pixel.select(1, 0).to(torch::kInt64);            // (N,) x to the right
  const auto row = (size - 1 - pixel.select(1, 1)).to(torch::kInt64);  // (N,) y upward
  static const std::array<std::array<uint8_t, 3>, 10> kColours = {{{31, 119, 180},
                                                                   {255, 127, 14},
                                                                   {44, 160, 44},
                                                                   {214, 39, 40},
                                                                   {148, 103, 189},
                                                                   {140, 86, 75},
                                                                   {227, 119, 194},
                                                                   {127, 127, 127},
                                                                   {188, 189, 34},
                                                                   {23, 190, 207}}};
  auto palette = torch::empty({10, 3}, torch::kUInt8);
  for (int64_t c = 0; c < 10; ++c) {
    for (int64_t k = 0; k < 3; ++k) palette[c][k] = kColours[c][k];
  }
  const auto colour = palette.index_select(0, labels.cpu().remainder(10));  // (N, 3) RGB
  const int64_t legend = 150;                                               // width on the right
  auto canvas = torch::full({size, size + legend, 3}, 255, torch::kUInt8);  // (H, W, RGB)
  for (int64_t dy = 0; dy < 2; ++dy) {  // each dot 2x2 pixels: canvas[row, column] = colour
    for (int64_t dx = 0; dx < 2; ++dx) {
      canvas.index_put_({(row + dy).clamp_max(size - 1), (column + dx).clamp_max(size - 1)},
                        colour);
    }
  }
  cv::Mat image = to_mat(canvas.permute({2, 0, 1}));  // BGR from here on
  const int middle = static_cast<int>(size / 2), end = static_cast<int>(size - 1);
  const cv::Scalar gray(160, 160, 160), black(0, 0, 0);
  cv::line(image, {middle, 0}, {middle, end}, gray);
  cv::line(image, {0, middle}, {end, middle}, gray);
  const auto font = cv::FONT_HERSHEY_SIMPLEX;
  cv::putText(image,
              "z1, z2 from -" + std::to_string(extent).substr(0, 4) + " to " +
                  std::to_string(extent).substr(0, 4),
              {6, 16}, font, 0.45, black, 1, cv::LINE_AA);
  for (std::size_t c = 0; c < names.size() && c < 10; ++c) {
    const int top = 20 + 22 * static_cast<int>(c);
    const auto& rgb = kColours[c];
    cv::rectangle(image, cv::Rect(static_cast<int>(size) + 8, top, 14, 14),
                  cv::Scalar(rgb[2], rgb[1], rgb[0]), cv::FILLED);
    cv::putText(image, names[c], {static_cast<int>(size) + 28, top + 12}, font, 0.42, black, 1,
                cv::LINE_AA);
  }
  write_png(image, path);
}

}  // namespace course
