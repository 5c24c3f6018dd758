// Unit tests of common/src/affine.cpp: affine_matrices for known changes (none, a mirror, a
// quarter turn on square and wide images, a zoom, a shift), and what affine_grid + grid_sample
// then do with them to real pixels.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <vector>

#include "course/affine.h"

namespace F = torch::nn::functional;

namespace {

// The matrix of one change, (2, 3).
torch::Tensor matrix(double degrees, double shift_x, double shift_y, double scale, bool flip,
                     int64_t height = 28, int64_t width = 28) {
  const auto one = [](double value) { return torch::full({1}, value, torch::kFloat64); };
  return course::affine_matrices(one(degrees), one(shift_x), one(shift_y), one(scale),
                                 one(flip ? 1 : 0), height, width)[0];
}

torch::Tensor rows(const std::vector<double>& values) {
  return torch::tensor(values, torch::kFloat64).view({2, 3});
}

// images (B, C, H, W) changed by theta (B, 2, 3), bilinear, zeros outside.
torch::Tensor warp(const torch::Tensor& images, const torch::Tensor& theta) {
  const auto grid = F::affine_grid(theta.to(images.dtype()), images.sizes(), false);
  return F::grid_sample(images, grid, F::GridSampleFuncOptions().align_corners(false));
}

class Affine : public ::testing::Test {
 protected:
  void SetUp() override { torch::manual_seed(0); }
};

}  // namespace

TEST_F(Affine, KnownChangesGiveKnownMatrices) {
  EXPECT_TRUE(torch::allclose(matrix(0, 0, 0, 1, false), rows({1, 0, 0, 0, 1, 0})));
  EXPECT_TRUE(torch::allclose(matrix(0, 0, 0, 1, true), rows({-1, 0, 0, 0, 1, 0})));
  EXPECT_TRUE(torch::allclose(matrix(0, 0, 0, 2, false), rows({0.5, 0, 0, 0, 0.5, 0})));
  // A quarter turn: on a wide image the -1..1 coordinates stretch differently along x and y.
  EXPECT_TRUE(torch::allclose(matrix(90, 0, 0, 1, false), rows({0, -1, 0, 1, 0, 0}), 1e-9, 1e-12));
  EXPECT_TRUE(torch::allclose(matrix(90, 0, 0, 1, false, 20, 30),
                              rows({0, -20.0 / 30, 0, 30.0 / 20, 0, 0}), 1e-9, 1e-12));
  // Shifting 7 pixels right on a 28-wide image reads 7 / 14 of the half-width further left.
  EXPECT_TRUE(torch::allclose(matrix(0, 7, 0, 1, false), rows({1, 0, -0.5, 0, 1, 0})));
  EXPECT_TRUE(torch::allclose(matrix(0, 0, -7, 1, false), rows({1, 0, 0, 0, 1, 0.5})));
}

TEST_F(Affine, OneMatrixPerImageAsFloat64) {
  const auto theta = course::affine_matrices(torch::tensor({0.0, 30.0, -10.0}), torch::zeros({3}),
                                             torch::ones({3}), torch::ones({3}),
                                             torch::tensor({false, true, false}), 28, 28);
  EXPECT_EQ(theta.sizes(), (std::vector<int64_t>{3, 2, 3}));
  EXPECT_EQ(theta.scalar_type(), torch::kFloat64);
  EXPECT_TRUE(torch::allclose(theta[1], matrix(30, 0, 1, 1, true)));
}

TEST_F(Affine, WarpingWithThemMirrorsAndShiftsPixelsExactly) {
  const auto image = torch::rand({1, 1, 6, 7});
  EXPECT_TRUE(torch::allclose(warp(image, matrix(0, 0, 0, 1, true, 6, 7).unsqueeze(0)),
                              image.flip({-1}), 1e-5, 1e-6));
  // 2 right and 1 up: pixel (y, x) moves to (y - 1, x + 2); what comes in from outside is 0
  // (to float rounding).
  const auto shifted = warp(image, matrix(0, 2, -1, 1, false, 6, 7).unsqueeze(0));
  EXPECT_TRUE(torch::allclose(shifted.slice(2, 0, 5).slice(3, 2, 7),
                              image.slice(2, 1, 6).slice(3, 0, 5), 1e-5, 1e-6));
  EXPECT_LT(shifted.slice(3, 0, 2).abs().max().item<float>(), 1e-5);
  EXPECT_LT(shifted.slice(2, 5, 6).abs().max().item<float>(), 1e-5);
}

TEST_F(Affine, RefusesAZeroScaleAndMismatchedLengths) {
  const auto zeros = torch::zeros({2});
  EXPECT_THROW(
      course::affine_matrices(zeros, zeros, zeros, torch::tensor({1.0, 0.0}), zeros, 28, 28),
      c10::Error);
  EXPECT_THROW(course::affine_matrices(zeros, zeros, zeros, torch::ones({3}), zeros, 28, 28),
               c10::Error);
}
