// affine.cpp: the inverse of "mirror, rotate, scale, shift", written out row by row.
#include "course/affine.h"

namespace course {

torch::Tensor affine_matrices(const torch::Tensor& degrees, const torch::Tensor& shift_x,
                              const torch::Tensor& shift_y, const torch::Tensor& scale,
                              const torch::Tensor& flip, int64_t height, int64_t width) {
  const int64_t count = degrees.numel();
  TORCH_CHECK(degrees.dim() == 1 && shift_x.numel() == count && shift_y.numel() == count &&
                  scale.numel() == count && flip.numel() == count,
              "affine_matrices wants five 1-D tensors of the same length, got ", degrees.sizes(),
              ", ", shift_x.sizes(), ", ", shift_y.sizes(), ", ", scale.sizes(), ", ",
              flip.sizes());
  TORCH_CHECK(count == 0 || scale.gt(0).all().item<bool>(), "affine_matrices: scale must be > 0");
  const auto f64 = torch::kFloat64;
  // In pixels, with the origin at the centre, the inverse map of the change is
  // p_in = M R (p_out - shift) / scale: R the rotation, M the mirror (x -> -x where flipped).
  // Dividing x by W/2 and y by H/2 turns pixels into affine_grid's -1..1 coordinates.
  const auto radians = degrees.to(f64) * (3.14159265358979323846 / 180.0);
  const auto cos_a = torch::cos(radians), sin_a = torch::sin(radians);
  const auto sign = 1.0 - 2.0 * flip.ne(0).to(f64);  // -1 where mirrored
  const auto s = scale.to(f64), dx = shift_x.to(f64), dy = shift_y.to(f64);
  const double h = static_cast<double>(height), w = static_cast<double>(width);
  const auto row0 = torch::stack({sign * cos_a / s, -sign * sin_a * (h / w) / s,
                                  -sign * (cos_a * dx - sin_a * dy) / (w / 2.0) / s},
                                 /*dim=*/1);  // (B, 3)
  const auto row1 = torch::stack(
      {sin_a * (w / h) / s, cos_a / s, -(sin_a * dx + cos_a * dy) / (h / 2.0) / s}, /*dim=*/1);
  return torch::stack({row0, row1}, /*dim=*/1);  // (B, 2, 3)
}

}  // namespace course
