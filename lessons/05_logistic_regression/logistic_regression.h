// logistic_regression.h: softmax regression (one nn::Linear, 784 pixels -> 10 class scores) and
// the pieces around it: input preparation, cross-entropy written out as its two steps, accuracy,
// one SGD step, and evaluation in mini-batches. main.cpp tells the story with these;
// tests/lessons/test_05_logistic_regression.cpp checks each one against Python PyTorch.
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace course::logistic_regression {

constexpr int64_t kPixels = 28 * 28;   ///< inputs per image (the image flattened)
constexpr int64_t kClasses = 10;       ///< Fashion-MNIST classes
constexpr double kPixelMean = 0.2860;  ///< mean of the training pixels after /255
constexpr double kPixelStd = 0.3530;   ///< their standard deviation

/// Options for SoftmaxRegression, in the style of torch::nn::LinearOptions.
struct SoftmaxRegressionOptions {
  SoftmaxRegressionOptions(int64_t in_features, int64_t num_classes)
      : in_features_(in_features), num_classes_(num_classes) {}
  /// Inputs per sample (784 for a 28x28 image).
  TORCH_ARG(int64_t, in_features);
  /// Number of classes, one score (logit) each.
  TORCH_ARG(int64_t, num_classes);
};

/// Softmax regression: logits = x W^T + b. The softmax itself lives in the loss
/// (cross_entropy), so forward() returns the raw scores ("logits").
class SoftmaxRegressionImpl : public torch::nn::Module {
 public:
  explicit SoftmaxRegressionImpl(const SoftmaxRegressionOptions& options);
  explicit SoftmaxRegressionImpl(int64_t in_features = kPixels, int64_t num_classes = kClasses)
      : SoftmaxRegressionImpl(SoftmaxRegressionOptions(in_features, num_classes)) {}

  /// (B, in_features) or (B, 28, 28) -> (B, num_classes) logits.
  torch::Tensor forward(const torch::Tensor& inputs);

  /// The options this module was built with.
  SoftmaxRegressionOptions options;
  /// The one layer: weight (num_classes, in_features), bias (num_classes).
  torch::nn::Linear linear{nullptr};
};
TORCH_MODULE(SoftmaxRegression);

/// uint8 images (N, 28, 28) in 0..255 -> float (N, 784): divide by 255, then (x - mean) / std.
torch::Tensor prepare_images(const torch::Tensor& images);

/// Cross-entropy as its two steps: log_softmax over the classes, then nll_loss (the mean of
/// -log p[target]). Gives the same number as torch::nn::functional::cross_entropy.
/// logits (B, C) float, targets (B,) int64 -> () mean loss.
torch::Tensor cross_entropy_two_steps(const torch::Tensor& logits, const torch::Tensor& targets);

/// How many rows have their largest logit at the target class, as an int64 scalar tensor. It
/// stays on the device: adding these up costs no wait, unlike reading a number with .item().
torch::Tensor count_correct(const torch::Tensor& logits, const torch::Tensor& targets);

/// What one training step returns. Both tensors are detached (no autograd history).
struct StepResult {
  torch::Tensor loss;    ///< () mean cross-entropy of the batch, before the update
  torch::Tensor logits;  ///< (B, C) the scores the loss was computed from
};

/// One step of mini-batch gradient descent: zero the gradients, forward, cross_entropy,
/// backward, optimizer.step(). inputs (B, in_features), targets (B,) int64.
StepResult train_step(SoftmaxRegression& model, torch::optim::Optimizer& optimizer,
                      const torch::Tensor& inputs, const torch::Tensor& targets);

/// Mean loss and accuracy over a whole split.
struct Evaluation {
  double loss = 0.0;      ///< mean cross-entropy per sample
  double accuracy = 0.0;  ///< fraction classified correctly, 0..1
};

/// Evaluates in batches of `batch_size` (the last one may be smaller) without autograd, in eval
/// mode. Every sample counts once, whatever the batch size.
Evaluation evaluate(SoftmaxRegression& model, const torch::Tensor& inputs,
                    const torch::Tensor& targets, int64_t batch_size);

/// The learned weights as one 28x28 picture per class, (C, 28, 28) in 0..1 (each class scaled
/// from its own smallest to its largest weight). Needs in_features == 784.
torch::Tensor weight_images(SoftmaxRegression& model);

}  // namespace course::logistic_regression
