// cnn.h: lesson 08's model and helpers: a small convolutional network (conv, batch norm, ReLU,
// max pooling, dropout, linear head), one training step, the cosine schedule, light augmentation,
// the confusion matrix and the two pictures the lesson saves. main.cpp and
// tests/lessons/test_08_cnn.cpp both use them.
#pragma once

#include <torch/torch.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>

namespace course::cnn {

// ---------------------------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------------------------
// Dimension legend: B = batch, C = channels, H x W = image height x width.

/// The widths of a Cnn. The defaults are the lesson's model.
struct CnnOptions {
  TORCH_ARG(int64_t, channels1) = 32;  ///< feature maps after the first conv (28x28)
  TORCH_ARG(int64_t, channels2) = 64;  ///< feature maps after the second conv (14x14)
  TORCH_ARG(int64_t, hidden) = 128;    ///< units in the hidden linear layer
  TORCH_ARG(int64_t, classes) = 10;    ///< outputs (logits), 10 for Fashion-MNIST
  TORCH_ARG(double, dropout) = 0.3;    ///< chance to zero a hidden unit while training
};

/// Two conv blocks, then a small classifier:
///   (B, 1, 28, 28) -> conv 3x3 -> batch norm -> ReLU -> max pool 2  -> (B, channels1, 14, 14)
///                  -> conv 3x3 -> batch norm -> ReLU -> max pool 2  -> (B, channels2, 7, 7)
///                  -> flatten -> linear -> ReLU -> dropout -> linear -> (B, classes)
/// The convs have no bias: the batch norm right after them subtracts the mean anyway.
class CnnImpl : public torch::nn::Module {
 public:
  explicit CnnImpl(const CnnOptions& options = {});

  /// images (B, 1, 28, 28), normalised -> logits (B, classes).
  torch::Tensor forward(torch::Tensor images);

  CnnOptions options;

  // Public, so that the tests can look at the batch norm statistics.
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr};
  torch::nn::Linear fc{nullptr}, head{nullptr};
  torch::nn::Dropout dropout{nullptr};
};
TORCH_MODULE(Cnn);

/// Number of trainable numbers in a module.
int64_t parameter_count(const torch::nn::Module& module);

// ---------------------------------------------------------------------------------------------
// Data
// ---------------------------------------------------------------------------------------------

/// Fashion-MNIST's mean and standard deviation over the training pixels (after /255).
constexpr double kPixelMean = 0.2860;
constexpr double kPixelStd = 0.3530;

/// uint8 images (N, 28, 28) -> normalised float images (N, 1, 28, 28): (x / 255 - mean) / std.
torch::Tensor normalize_images(const torch::Tensor& images);

/// Light augmentation: flips each image of a batch (B, C, H, W) left-right with probability 0.5,
/// using the default generator. Clothes look like clothes in a mirror, so labels stay right.
torch::Tensor random_flip(const torch::Tensor& images);

// ---------------------------------------------------------------------------------------------
// Training
// ---------------------------------------------------------------------------------------------

/// What one training step gives back, detached from the graph. No .item() here: reading a number
/// waits for the device, so the caller does it only when it logs.
struct StepResult {
  torch::Tensor loss;    ///< () mean cross-entropy of the batch, before the step
  torch::Tensor logits;  ///< (B, classes), before the step
};

/// One optimizer step on a batch: forward, cross-entropy, backward, step. The model must be in
/// train() mode (batch norm uses the batch's statistics and updates its running ones).
StepResult train_step(Cnn& model, torch::optim::Optimizer& optimizer, const torch::Tensor& images,
                      const torch::Tensor& labels);

// ---------------------------------------------------------------------------------------------
// Looking at the mistakes
// ---------------------------------------------------------------------------------------------

/// The class names, as course::kFashionClasses holds them.
using ClassNames = std::array<const char*, 10>;

/// Counts (classes, classes) int64: entry [t][p] is how many samples of true class t were
/// predicted as class p. Rows are true classes, columns predictions; the diagonal is correct.
/// Throws when the two tensors differ in length or hold a value outside 0..classes-1.
torch::Tensor confusion_matrix(const torch::Tensor& predicted, const torch::Tensor& labels,
                               int64_t classes);

/// The matrix as text: one row per true class with its name, the counts, and the share of that
/// class that was classified right ("recall").
std::string format_confusion(const torch::Tensor& matrix, const ClassNames& names);

/// Draws the matrix with OpenCV (cells shaded by their share of the row, counts written in) and
/// writes a PNG.
void save_confusion_png(const torch::Tensor& matrix, const ClassNames& names,
                        const std::filesystem::path& path);

/// Saves up to `count` misclassified images (uint8 (N, 28, 28)) as one grid PNG, each tile
/// enlarged and labelled with the true and the predicted class. Returns how many it drew.
int64_t save_mistakes_png(const torch::Tensor& images, const torch::Tensor& labels,
                          const torch::Tensor& predicted, const ClassNames& names, int64_t count,
                          const std::filesystem::path& path);

}  // namespace course::cnn
