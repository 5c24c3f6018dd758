// plot.cpp: line charts with OpenCV's drawing functions (no plotting library needed).
#include "course/plot.h"

#include <fmt/format.h>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "course/files.h"

namespace course {
namespace {

// A small fixed palette (BGR) that stays readable on white.
const cv::Scalar kColours[] = {{180, 119, 31}, {14, 127, 255},  {44, 160, 44},
                               {40, 39, 214},  {189, 103, 148}, {75, 86, 140}};

std::string tick_label(double value) {
  if (value != 0 && (std::abs(value) >= 1e4 || std::abs(value) < 1e-2)) {
    return fmt::format("{:.1e}", value);
  }
  return fmt::format("{:.3g}", value);
}

}  // namespace

void plot_lines(const std::vector<Series>& series, const std::string& title,
                const std::string& x_label, const std::string& y_label,
                const std::filesystem::path& path, int width, int height) {
  double x_min = std::numeric_limits<double>::infinity(), x_max = -x_min;
  double y_min = x_min, y_max = -x_min;
  for (const auto& s : series) {
    if (s.x.size() != s.y.size()) throw std::invalid_argument("plot_lines: x and y differ in size");
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      x_min = std::min(x_min, s.x[i]);
      x_max = std::max(x_max, s.x[i]);
      y_min = std::min(y_min, s.y[i]);
      y_max = std::max(y_max, s.y[i]);
    }
  }
  if (!std::isfinite(x_min)) x_min = 0, x_max = 1, y_min = 0, y_max = 1;  // nothing to draw
  if (x_max == x_min) x_max = x_min + 1;
  if (y_max == y_min) y_max = y_min + 1;
  const double y_pad = 0.05 * (y_max - y_min);
  y_min -= y_pad;
  y_max += y_pad;

  cv::Mat canvas(height, width, CV_8UC3, cv::Scalar(255, 255, 255));
  const int left = 80, right = width - 20, top = 40, bottom = height - 55;
  auto to_pixel = [&](double x, double y) {
    return cv::Point(left + static_cast<int>((x - x_min) / (x_max - x_min) * (right - left)),
                     bottom - static_cast<int>((y - y_min) / (y_max - y_min) * (bottom - top)));
  };
  const auto font = cv::FONT_HERSHEY_SIMPLEX;
  const cv::Scalar black(0, 0, 0), grey(220, 220, 220);

  // Grid and tick labels: five divisions on each axis.
  for (int i = 0; i <= 5; ++i) {
    const double x = x_min + (x_max - x_min) * i / 5, y = y_min + (y_max - y_min) * i / 5;
    const cv::Point px = to_pixel(x, y_min), py = to_pixel(x_min, y);
    cv::line(canvas, {px.x, top}, {px.x, bottom}, grey, 1);
    cv::line(canvas, {left, py.y}, {right, py.y}, grey, 1);
    // Centre each x label on its tick, but keep the last one inside the image.
    const std::string x_text = tick_label(x);
    int baseline = 0;
    const int text_width = cv::getTextSize(x_text, font, 0.4, 1, &baseline).width;
    cv::putText(canvas, x_text,
                {std::min(px.x - text_width / 2, width - text_width - 2), bottom + 18}, font, 0.4,
                black, 1, cv::LINE_AA);
    cv::putText(canvas, tick_label(y), {5, py.y + 4}, font, 0.4, black, 1, cv::LINE_AA);
  }
  cv::rectangle(canvas, {left, top}, {right, bottom}, black, 1);
  cv::putText(canvas, title, {left, 25}, font, 0.6, black, 1, cv::LINE_AA);
  cv::putText(canvas, x_label, {(left + right) / 2 - 30, height - 15}, font, 0.5, black, 1,
              cv::LINE_AA);
  cv::putText(canvas, y_label, {5, top - 10}, font, 0.45, black, 1, cv::LINE_AA);

  for (size_t k = 0; k < series.size(); ++k) {
    const auto& s = series[k];
    const cv::Scalar colour = kColours[k % std::size(kColours)];
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      const cv::Point p = to_pixel(s.x[i], s.y[i]);
      if (s.points) {
        cv::circle(canvas, p, 3, colour, cv::FILLED, cv::LINE_AA);
      } else if (i > 0 && std::isfinite(s.y[i - 1])) {
        cv::line(canvas, to_pixel(s.x[i - 1], s.y[i - 1]), p, colour, 2, cv::LINE_AA);
      }
    }
    const int legend_y = top + 20 + static_cast<int>(k) * 20;
    cv::line(canvas, {right - 160, legend_y - 4}, {right - 135, legend_y - 4}, colour, 3);
    cv::putText(canvas, s.name, {right - 128, legend_y}, font, 0.45, black, 1, cv::LINE_AA);
  }

  write_png(canvas, path);  // in memory, then the atomic write: a full disk costs no old file
}

}  // namespace course
