// confusion.cpp: a confusion matrix as text and as a picture drawn with OpenCV.
#include "course/confusion.h"

#include <fmt/format.h>
#include <opencv2/imgproc.hpp>

#include <cmath>
#include <stdexcept>

#include "course/files.h"

namespace course {
namespace {

std::string name_of(const std::vector<std::string>& names, int64_t index) {
  return index < static_cast<int64_t>(names.size()) ? names[index] : "?";
}

}  // namespace

std::string format_confusion(const torch::Tensor& matrix, const std::vector<std::string>& names) {
  const auto counts = matrix.to(torch::kCPU, torch::kInt64).contiguous();
  const int64_t classes = counts.size(0);
  std::string text = fmt::format("{:<14}", "true \\ pred");
  for (int64_t p = 0; p < classes; ++p) text += fmt::format("{:>6}", p);
  text += "  recall\n";
  for (int64_t t = 0; t < classes; ++t) {
    text += fmt::format("{:<14}", fmt::format("{} {}", t, name_of(names, t)));
    int64_t row_sum = 0;
    for (int64_t p = 0; p < classes; ++p) {
      const auto count = counts[t][p].item<int64_t>();
      row_sum += count;
      text += fmt::format("{:>6}", count);
    }
    const double recall =
        row_sum > 0 ? static_cast<double>(counts[t][t].item<int64_t>()) / row_sum : 0.0;
    text += fmt::format("  {:.3f}\n", recall);
  }
  return text;
}

void plot_confusion(const torch::Tensor& matrix, const std::vector<std::string>& names,
                    const std::filesystem::path& path) {
  const auto counts = matrix.to(torch::kCPU, torch::kInt64).contiguous();
  const int classes = static_cast<int>(counts.size(0));
  const int cell = 52, left = 130, top = 70, bottom = 40;
  const int width = left + classes * cell + 20, height = top + classes * cell + bottom;
  cv::Mat canvas(height, width, CV_8UC3, cv::Scalar(255, 255, 255));
  const auto font = cv::FONT_HERSHEY_SIMPLEX;
  const cv::Scalar black(0, 0, 0), white(255, 255, 255);
  cv::putText(canvas, "Confusion matrix (rows: true class, columns: predicted)", {10, 25}, font,
              0.55, black, 1, cv::LINE_AA);
  for (int t = 0; t < classes; ++t) {
    const int64_t row_sum = counts[t].sum().item<int64_t>();
    cv::putText(canvas, fmt::format("{} {}", t, name_of(names, t)),
                {8, top + t * cell + cell / 2 + 5}, font, 0.45, black, 1, cv::LINE_AA);
    for (int p = 0; p < classes; ++p) {
      const int64_t count = counts[t][p].item<int64_t>();
      // Shade by the share of the row; the square root makes small mistakes visible too.
      const double share = row_sum > 0 ? static_cast<double>(count) / row_sum : 0.0;
      const double shade = std::sqrt(share);
      const cv::Scalar colour(255 - 115 * shade, 255 - 195 * shade, 255 - 235 * shade);  // BGR
      const cv::Rect box(left + p * cell, top + t * cell, cell, cell);
      cv::rectangle(canvas, box, colour, cv::FILLED);
      cv::rectangle(canvas, box, cv::Scalar(200, 200, 200), 1);
      const std::string text = std::to_string(count);
      int baseline = 0;
      const cv::Size size = cv::getTextSize(text, font, 0.45, 1, &baseline);
      cv::putText(canvas, text, {box.x + (cell - size.width) / 2, box.y + (cell + size.height) / 2},
                  font, 0.45, shade > 0.6 ? white : black, 1, cv::LINE_AA);
    }
  }
  for (int p = 0; p < classes; ++p) {  // column headers: the class numbers
    cv::putText(canvas, std::to_string(p), {left + p * cell + cell / 2 - 5, top - 10}, font, 0.5,
                black, 1, cv::LINE_AA);
  }
  cv::putText(canvas, "predicted class", {left + classes * cell / 2 - 60, height - 12}, font, 0.5,
              black, 1, cv::LINE_AA);
  write_png(canvas, path);  // in memory, then the atomic write: a full disk costs no old file
}

}  // namespace course
