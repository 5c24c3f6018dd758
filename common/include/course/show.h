// show.h: printing a tensor the way Python PyTorch users read one: its values in nested brackets
// with aligned columns, its dtype by the Python name and its shape ("int64 [2, 3]").
#pragma once

#include <torch/torch.h>

#include <string>

namespace course {

/// The Python name of a dtype: torch::kFloat32 -> "float32", torch::kInt64 -> "int64".
std::string dtype_name(torch::ScalarType type);

/// "int64 [2, 3]": dtype and shape, as a one-line description.
std::string describe(const torch::Tensor& tensor);

/// The values as nested brackets with aligned columns, one row per line:
///   [[0, 1, 2],
///    [3, 4, 5]]
/// Floating point values get `decimals` digits after the point; bool prints true/false. Any
/// device, any memory layout (a permuted view prints in its logical order).
std::string format_values(const torch::Tensor& tensor, int decimals = 4);

/// The values on one line, flattened, each with `significant` digits as printf's %g writes them:
/// "[7, 14, 21]", "[2.061e-09, 0.3133, inf, nan]".
std::string format_short(const torch::Tensor& tensor, int significant = 4);

/// Prints "  label = values   dtype [shape]" for a 0-D or 1-D tensor; for more dimensions, the
/// label and the description on one line and the values below it, indented by four spaces.
void show(const std::string& label, const torch::Tensor& tensor);

}  // namespace course
