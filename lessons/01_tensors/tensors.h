// tensors.h: lesson 01's own code: printing tensors compactly, and the small tensor recipes
// (indexing, broadcasting, reductions, in-place ops, std::vector and cv::Mat interop) that
// main.cpp shows and tests/lessons/test_01_tensors.cpp checks against Python PyTorch.
#pragma once

#include <torch/torch.h>
#include <opencv2/core.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace course::tensors {

// ---------------------------------------------------------------------------------------------
// Printing

/// The Python name of a dtype: torch::kFloat32 -> "float32", torch::kInt64 -> "int64".
std::string dtype_name(torch::ScalarType type);

/// "int64 [2, 3]": dtype and shape, as a one-line description.
std::string describe(const torch::Tensor& tensor);

/// The values as nested brackets with aligned columns, one row per line:
///   [[0, 1, 2],
///    [3, 4, 5]]
/// Floating point values get `decimals` digits after the point; bool prints true/false.
std::string format_values(const torch::Tensor& tensor, int decimals = 4);

/// Prints `label`, the description and the values. Short (0-D and 1-D) tensors fit on one line.
void show(const std::string& label, const torch::Tensor& tensor);

// ---------------------------------------------------------------------------------------------
// dtypes

/// What happens to numbers when dtypes meet (the same rules as Python PyTorch).
struct DtypeExamples {
  torch::Tensor truncated;      ///< floats.to(torch::kInt64): rounds toward zero      int64
  torch::Tensor promoted;       ///< ints + 0.5: an int64 tensor and a float -> float32
  torch::Tensor divided;        ///< ints / 2: true division, always floating point   float32
  torch::Tensor floor_divided;  ///< torch::div(ints, 2, "floor"), Python ints // 2     int64
  torch::Tensor as_double;      ///< floats.to(torch::kFloat64)                        float64
};
/// `ints` must be an integer tensor, `floats` a floating point one.
DtypeExamples dtype_examples(const torch::Tensor& ints, const torch::Tensor& floats);

// ---------------------------------------------------------------------------------------------
// Indexing and slicing (torch::indexing: Slice, None, Ellipsis)

/// One tensor read in several ways, each the C++ form of a Python expression.
struct IndexingExamples {
  torch::Tensor row;         ///< x[1]                                  (C,)
  torch::Tensor column;      ///< x[:, 0]                               (R,)
  torch::Tensor block;       ///< x[1:3, ::2]                           (2, ceil(C/2))
  torch::Tensor last;        ///< x[..., -1]                            (R,)
  torch::Tensor unsqueezed;  ///< x[None]: a new leading dimension      (1, R, C)
  torch::Tensor masked;      ///< x[x > threshold]: 1-D, in row order   (K,)
  torch::Tensor edited;      ///< a copy y with y[:, 0] = 0, then y[y > threshold] = -1
};
/// `x` must be 2-D with at least 3 rows.
IndexingExamples indexing_examples(const torch::Tensor& x, double threshold);

// ---------------------------------------------------------------------------------------------
// Broadcasting

/// Euclidean distance between every row of `a` (N, D) and every row of `b` (M, D): (N, M).
/// Broadcasting (N, 1, D) - (1, M, D) -> (N, M, D) does all pairs without a loop.
torch::Tensor pairwise_distances(const torch::Tensor& a, const torch::Tensor& b);

/// Each row of `x` (N, D) divided by its length, so every row has length 1 (a zero row stays 0).
torch::Tensor normalize_rows(const torch::Tensor& x);

/// An RGB test image (3, H, W), float32 in 0..1: red grows left to right, green top to bottom,
/// blue is their product. Built from a (1, W) row and an (H, 1) column by broadcasting.
torch::Tensor gradient_image(int64_t height, int64_t width);

// ---------------------------------------------------------------------------------------------
// Reductions

/// The common reductions of a 2-D tensor x (R, C), with and without keepdim.
struct ReductionSummary {
  torch::Tensor total;        ///< x.sum()                       ()
  torch::Tensor column_sums;  ///< x.sum(0)                      (C,)
  torch::Tensor row_means;    ///< x.mean(1)                     (R,)
  torch::Tensor row_max;      ///< x.max(1).values               (R,)
  torch::Tensor row_argmax;   ///< x.argmax(1) == x.max(1).indices, int64   (R,)
  torch::Tensor centered;     ///< x - x.mean(1, keepdim=True): (R, C) - (R, 1)   (R, C)
};
ReductionSummary summarize(const torch::Tensor& x);

// ---------------------------------------------------------------------------------------------
// In-place operations

/// x.mul_(scale).add_(shift).clamp_(low, high): changes `x` itself (same memory) and returns it.
torch::Tensor& scale_shift_clamp_(torch::Tensor& x, double scale, double shift, double low,
                                  double high);

// ---------------------------------------------------------------------------------------------
// std::vector and cv::Mat

/// A float32 tensor of `shape` that owns a copy of `values` (from_blob, then clone()).
/// Throws when the number of values does not match the shape.
torch::Tensor from_vector(const std::vector<float>& values, const std::vector<int64_t>& shape);

/// The values of any tensor as float, in row-major order (a copy; the tensor may go away).
std::vector<float> to_vector(const torch::Tensor& tensor);

/// A uint8 tensor (H, W, C) over the pixels of an 8-bit cv::Mat, WITHOUT a copy (from_blob with
/// the Mat's row stride, so a cropped Mat works too). It is valid only while `mat` lives; call
/// .clone() to keep it longer. Channels stay in OpenCV's order (BGR). course::from_mat copies.
torch::Tensor view_mat(const cv::Mat& mat);

}  // namespace course::tensors
