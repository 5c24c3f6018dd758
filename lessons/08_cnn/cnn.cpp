// cnn.cpp: lesson 08's model, training step, schedule, augmentation and the confusion matrix.
#include "cnn.h"

#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "course/image.h"

namespace course::cnn {

// ---------------------------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------------------------

CnnImpl::CnnImpl(const CnnOptions& options_) : options(options_) {
  namespace nn = torch::nn;
  // Python: nn.Conv2d(1, 32, kernel_size=3, padding=1, bias=False)
  conv1 = register_module(
      "conv1",
      nn::Conv2d(
          nn::Conv2dOptions(1, options.channels1(), /*kernel_size=*/3).padding(1).bias(false)));
  bn1 = register_module("bn1", nn::BatchNorm2d(options.channels1()));
  conv2 = register_module(
      "conv2",
      nn::Conv2d(nn::Conv2dOptions(options.channels1(), options.channels2(), /*kernel_size=*/3)
                     .padding(1)
                     .bias(false)));
  bn2 = register_module("bn2", nn::BatchNorm2d(options.channels2()));
  // Two 2x2 poolings turn 28x28 into 7x7.
  fc = register_module("fc", nn::Linear(options.channels2() * 7 * 7, options.hidden()));
  dropout = register_module("dropout", nn::Dropout(nn::DropoutOptions(options.dropout())));
  head = register_module("head", nn::Linear(options.hidden(), options.classes()));
}

torch::Tensor CnnImpl::forward(torch::Tensor images) {
  TORCH_CHECK(
      images.dim() == 4 && images.size(1) == 1 && images.size(2) == 28 && images.size(3) == 28,
      "Cnn expects images (B, 1, 28, 28), got ", images.sizes(),
      "; for (B, 28, 28) add the channel with images.unsqueeze(1)");
  auto x = torch::relu(bn1(conv1(images)));     // (B, C1, 28, 28)
  x = torch::max_pool2d(x, /*kernel_size=*/2);  // (B, C1, 14, 14)
  x = torch::relu(bn2(conv2(x)));               // (B, C2, 14, 14)
  x = torch::max_pool2d(x, /*kernel_size=*/2);  // (B, C2, 7, 7)
  x = x.flatten(/*start_dim=*/1);               // (B, C2 * 49)
  x = dropout(torch::relu(fc(x)));              // (B, hidden); dropout only in train()
  return head(x);                               // (B, classes)
}

int64_t parameter_count(const torch::nn::Module& module) {
  int64_t count = 0;
  for (const auto& parameter : module.parameters()) count += parameter.numel();
  return count;
}

// ---------------------------------------------------------------------------------------------
// Data
// ---------------------------------------------------------------------------------------------

torch::Tensor normalize_images(const torch::Tensor& images) {
  TORCH_CHECK(images.dim() == 3 && images.scalar_type() == torch::kUInt8,
              "normalize_images expects uint8 images (N, H, W), got ", images.sizes(), " ",
              images.scalar_type());
  const auto x = images.to(torch::kFloat32).div(255.0);  // (N, 28, 28) in 0..1
  return x.sub(kPixelMean).div(kPixelStd).unsqueeze(1);  // (N, 1, 28, 28)
}

torch::Tensor random_flip(const torch::Tensor& images) {
  const auto flip = torch::rand({images.size(0), 1, 1, 1}, images.options()) < 0.5;  // (B,1,1,1)
  return torch::where(flip, images.flip({3}), images);  // Python: x.flip(3) mirrors W
}

// ---------------------------------------------------------------------------------------------
// Training
// ---------------------------------------------------------------------------------------------

StepResult train_step(Cnn& model, torch::optim::Optimizer& optimizer, const torch::Tensor& images,
                      const torch::Tensor& labels) {
  optimizer.zero_grad();
  const auto logits = model->forward(images);  // (B, classes)
  const auto loss = torch::nn::functional::cross_entropy(logits, labels);
  loss.backward();
  optimizer.step();
  return {loss.detach(), logits.detach()};
}

// ---------------------------------------------------------------------------------------------
// Looking at the mistakes
// ---------------------------------------------------------------------------------------------

torch::Tensor confusion_matrix(const torch::Tensor& predicted, const torch::Tensor& labels,
                               int64_t classes) {
  TORCH_CHECK(predicted.dim() == 1 && labels.dim() == 1 && predicted.size(0) == labels.size(0),
              "confusion_matrix expects two 1-D tensors of the same length, got predicted ",
              predicted.sizes(), " and labels ", labels.sizes());
  const auto p = predicted.to(torch::kCPU, torch::kInt64);
  const auto t = labels.to(torch::kCPU, torch::kInt64);
  for (const auto& [name, values] : {std::pair{"predicted", p}, std::pair{"labels", t}}) {
    TORCH_CHECK(values.numel() == 0 ||
                    (values.min().item<int64_t>() >= 0 && values.max().item<int64_t>() < classes),
                "confusion_matrix: ", name, " must hold class numbers 0..", classes - 1);
  }
  auto matrix = torch::zeros({classes, classes}, torch::kInt64);  // (true, predicted)
  // Adds 1 at [t[i], p[i]] for every i; accumulate=true sums repeated positions.
  matrix.index_put_({t, p}, torch::ones_like(t), /*accumulate=*/true);
  return matrix;
}

std::string format_confusion(const torch::Tensor& matrix, const ClassNames& names) {
  const auto counts = matrix.to(torch::kInt64).contiguous();
  const int64_t classes = counts.size(0);
  std::string text = fmt::format("{:<14}", "true \\ pred");
  for (int64_t p = 0; p < classes; ++p) text += fmt::format("{:>6}", p);
  text += "  recall\n";
  for (int64_t t = 0; t < classes; ++t) {
    const char* name = t < static_cast<int64_t>(names.size()) ? names[t] : "?";
    text += fmt::format("{:<14}", fmt::format("{} {}", t, name));
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

void save_confusion_png(const torch::Tensor& matrix, const ClassNames& names,
                        const std::filesystem::path& path) {
  const auto counts = matrix.to(torch::kInt64).contiguous();
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
    const std::string name = fmt::format("{} {}", t, t < 10 ? names[t] : "?");
    cv::putText(canvas, name, {8, top + t * cell + cell / 2 + 5}, font, 0.45, black, 1,
                cv::LINE_AA);
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
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  if (!cv::imwrite(path.string(), canvas)) {
    throw std::runtime_error(fmt::format("could not write {}", path.string()));
  }
}

int64_t save_mistakes_png(const torch::Tensor& images, const torch::Tensor& labels,
                          const torch::Tensor& predicted, const ClassNames& names, int64_t count,
                          const std::filesystem::path& path) {
  TORCH_CHECK(images.dim() == 3 && images.scalar_type() == torch::kUInt8,
              "save_mistakes_png expects uint8 images (N, H, W), got ", images.sizes());
  const auto wrong = predicted.to(torch::kCPU).ne(labels.to(torch::kCPU)).nonzero().flatten();
  const int64_t shown = std::min(count, wrong.size(0));
  if (shown == 0) return 0;
  constexpr int kScale = 4, kLabelHeight = 34;
  auto short_name = [&](int64_t label) {  // "T-shirt/top" -> "T-shirt": fits under a tile
    const std::string name = names[label];
    return name.substr(0, name.find('/'));
  };
  std::vector<torch::Tensor> tiles;
  for (int64_t i = 0; i < shown; ++i) {
    const int64_t index = wrong[i].item<int64_t>();
    cv::Mat gray = course::to_mat(images[index].cpu()), big, tile;  // 28x28
    cv::resize(gray, big, {}, kScale, kScale, cv::INTER_NEAREST);   // 112x112
    cv::cvtColor(big, big, cv::COLOR_GRAY2BGR);
    cv::copyMakeBorder(big, tile, 0, kLabelHeight, 0, 0, cv::BORDER_CONSTANT,
                       cv::Scalar(255, 255, 255));
    const auto font = cv::FONT_HERSHEY_SIMPLEX;
    cv::putText(tile, short_name(labels[index].item<int64_t>()), {3, big.rows + 14}, font, 0.4,
                cv::Scalar(0, 130, 0), 1, cv::LINE_AA);  // green: the true class
    cv::putText(tile, short_name(predicted[index].item<int64_t>()), {3, big.rows + 29}, font, 0.4,
                cv::Scalar(0, 0, 200), 1, cv::LINE_AA);  // red: what the model said
    tiles.push_back(course::from_mat(tile));             // (3, 146, 112) uint8, RGB
  }
  const auto grid = course::make_grid(torch::stack(tiles), /*columns=*/8, /*padding=*/4);
  course::save_png(grid, path);
  return shown;
}

}  // namespace course::cnn
