// confusion.h: showing a confusion matrix, as text and as a PNG. (Counting it is lesson 08's.)
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <vector>

namespace course {

/// The matrix (classes, classes), rows true classes and columns predictions, as text: one line per
/// true class with its number and name, the counts, and the share of that class that was
/// classified right ("recall"). Python: course_common.format_confusion.
std::string format_confusion(const torch::Tensor& matrix, const std::vector<std::string>& names);

/// Draws the matrix (cells shaded by their share of the row, counts written in) and writes a PNG.
void plot_confusion(const torch::Tensor& matrix, const std::vector<std::string>& names,
                    const std::filesystem::path& path);

}  // namespace course
