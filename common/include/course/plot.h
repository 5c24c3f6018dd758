// plot.h: simple line charts drawn with OpenCV (loss and accuracy curves, fits), saved as PNG.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace course {

struct Series {
  std::string name;       ///< legend text
  std::vector<double> x;  ///< same length as y
  std::vector<double> y;
  bool points = false;  ///< draw markers instead of a line (for data)
};

/// Draws the series on shared axes with a title, axis labels and a legend, and writes a PNG.
void plot_lines(const std::vector<Series>& series, const std::string& title,
                const std::string& x_label, const std::string& y_label,
                const std::filesystem::path& path, int width = 800, int height = 500);

}  // namespace course
