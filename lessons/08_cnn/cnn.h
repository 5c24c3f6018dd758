// cnn.h: lesson 08's model, a small convolutional network for 28x28 gray images, in LibTorch's
// own idiom (an options struct, CnnImpl, TORCH_MODULE). Lesson 08 trains it; later lessons include
// it as "08_cnn/cnn.h" (the GAN's judge in 14, the model exported in 15 and 16, sped up in 19).
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace course {

// Dimension legend: B = batch, C = channels, H x W = image height x width.

/// The widths of a Cnn. The defaults are lesson 08's model.
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
  explicit CnnImpl(const CnnOptions& options_ = {}) : options(options_) {
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

  /// images (B, 1, 28, 28), normalised -> logits (B, classes).
  torch::Tensor forward(const torch::Tensor& images) {
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

  CnnOptions options;
  // Public, so that a lesson (and its tests) can look at the batch norm statistics.
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr};
  torch::nn::Linear fc{nullptr}, head{nullptr};
  torch::nn::Dropout dropout{nullptr};
};
TORCH_MODULE(Cnn);

}  // namespace course
