// affine.h: the (2, 3) matrices torch::nn::functional::affine_grid wants for mirroring, rotating,
// scaling and shifting images around their centre (lesson 06 shows affine_grid and grid_sample).
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace course {

/// One matrix per image, (B, 2, 3) float64, from five tensors of B values each: mirror left-right
/// where `flip` is nonzero, rotate by `degrees`, scale by `scale` (> 0), then shift by
/// (shift_x, shift_y) pixels (right, down); all around the centre of a height x width image.
/// `F::affine_grid(theta, images.sizes(), /*align_corners=*/false)` then says, for each output
/// pixel, where to read in the input: the matrix is the inverse of the change, in coordinates
/// where the image spans -1..1. A flip alone is images.flip(-1); a shift by whole pixels moves
/// every pixel exactly. Throws c10::Error for a scale <= 0 or tensors of different lengths.
torch::Tensor affine_matrices(const torch::Tensor& degrees, const torch::Tensor& shift_x,
                              const torch::Tensor& shift_y, const torch::Tensor& scale,
                              const torch::Tensor& flip, int64_t height, int64_t width);

}  // namespace course
