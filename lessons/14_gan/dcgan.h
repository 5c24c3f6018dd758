// dcgan.h: lesson 14's two networks, a DCGAN for 28x28 gray images in LibTorch's own idiom (an
// options struct, XImpl, TORCH_MODULE): a generator of transposed convolutions that turns noise
// into an image, and a discriminator of strided convolutions that says "real" or "fake".
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace course {

// Dimension legend: B = batch, Z = noise size, W = width (feature maps), H x W = image.

/// The sizes of a Generator. The defaults are lesson 14's.
struct GeneratorOptions {
  TORCH_ARG(int64_t, noise) = 64;  ///< Z: numbers of noise in, one vector per image
  TORCH_ARG(int64_t, width) = 32;  ///< W: feature maps at 14x14 (2W at 7x7)
};

/// Noise to an image, the resolution doubling at each step (DCGAN, Radford et al. 2015):
///   (B, Z) -> (B, Z, 1, 1) -> conv-transpose 7x7             -> BN -> ReLU -> (B, 2W, 7, 7)
///                          -> conv-transpose 4x4, stride 2    -> BN -> ReLU -> (B, W, 14, 14)
///                          -> conv-transpose 4x4, stride 2    -> tanh       -> (B, 1, 28, 28)
/// The output is in [-1, 1], as the training images are scaled. No bias before a batch norm.
class GeneratorImpl : public torch::nn::Module {
 public:
  explicit GeneratorImpl(const GeneratorOptions& options_ = {}) : options(options_) {
    namespace nn = torch::nn;
    const int64_t w = options.width();
    // Python: nn.ConvTranspose2d(Z, 2 * W, kernel_size=7, stride=1, padding=0, bias=False)
    up1 = register_module(
        "up1",
        nn::ConvTranspose2d(
            nn::ConvTranspose2dOptions(options.noise(), 2 * w, /*kernel_size=*/7).bias(false)));
    bn1 = register_module("bn1", nn::BatchNorm2d(2 * w));
    // A 4x4 kernel, stride 2, padding 1 doubles the size exactly: (7 - 1) * 2 - 2 + 4 = 14.
    up2 = register_module(
        "up2", nn::ConvTranspose2d(nn::ConvTranspose2dOptions(2 * w, w, /*kernel_size=*/4)
                                       .stride(2)
                                       .padding(1)
                                       .bias(false)));
    bn2 = register_module("bn2", nn::BatchNorm2d(w));
    up3 = register_module(
        "up3",
        nn::ConvTranspose2d(
            nn::ConvTranspose2dOptions(w, 1, /*kernel_size=*/4).stride(2).padding(1).bias(false)));
  }

  /// noise (B, Z) -> images (B, 1, 28, 28) in [-1, 1].
  torch::Tensor forward(const torch::Tensor& noise) {
    TORCH_CHECK(noise.dim() == 2 && noise.size(1) == options.noise(),
                "Generator expects noise (B, ", options.noise(), "), got ", noise.sizes());
    auto x = noise.view({noise.size(0), options.noise(), 1, 1});  // (B, Z, 1, 1): a 1x1 image
    x = torch::relu(bn1(up1(x)));                                 // (B, 2W, 7, 7)
    x = torch::relu(bn2(up2(x)));                                 // (B, W, 14, 14)
    return torch::tanh(up3(x));                                   // (B, 1, 28, 28)
  }

  GeneratorOptions options;
  torch::nn::ConvTranspose2d up1{nullptr}, up2{nullptr}, up3{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr};
};
TORCH_MODULE(Generator);

/// The size of a Discriminator. The default is lesson 14's.
struct DiscriminatorOptions {
  TORCH_ARG(int64_t, width) = 32;  ///< W: feature maps at 14x14 (2W at 7x7)
};

/// An image to one logit, "how real does it look", the resolution halving at each step:
///   (B, 1, 28, 28) -> conv 4x4, stride 2      -> LeakyReLU 0.2      -> (B, W, 14, 14)
///                  -> conv 4x4, stride 2 -> BN -> LeakyReLU 0.2      -> (B, 2W, 7, 7)
///                  -> conv 7x7 (one number per image)                -> (B,)
/// Strided convolutions instead of pooling, LeakyReLU instead of ReLU (gradients for every
/// input), no batch norm on the input layer: DCGAN's rules. No sigmoid: the loss takes logits.
class DiscriminatorImpl : public torch::nn::Module {
 public:
  explicit DiscriminatorImpl(const DiscriminatorOptions& options_ = {}) : options(options_) {
    namespace nn = torch::nn;
    const int64_t w = options.width();
    // Python: nn.Conv2d(1, W, kernel_size=4, stride=2, padding=1, bias=False)
    down1 = register_module(
        "down1",
        nn::Conv2d(nn::Conv2dOptions(1, w, /*kernel_size=*/4).stride(2).padding(1).bias(false)));
    down2 = register_module(
        "down2",
        nn::Conv2d(
            nn::Conv2dOptions(w, 2 * w, /*kernel_size=*/4).stride(2).padding(1).bias(false)));
    bn2 = register_module("bn2", nn::BatchNorm2d(2 * w));
    head = register_module("head",
                           nn::Conv2d(nn::Conv2dOptions(2 * w, 1, /*kernel_size=*/7).bias(false)));
  }

  /// images (B, 1, 28, 28) in [-1, 1] -> logits (B,): > 0 means "real".
  torch::Tensor forward(const torch::Tensor& images) {
    TORCH_CHECK(
        images.dim() == 4 && images.size(1) == 1 && images.size(2) == 28 && images.size(3) == 28,
        "Discriminator expects images (B, 1, 28, 28), got ", images.sizes());
    auto x = torch::leaky_relu(down1(images), /*negative_slope=*/0.2);  // (B, W, 14, 14)
    x = torch::leaky_relu(bn2(down2(x)), /*negative_slope=*/0.2);       // (B, 2W, 7, 7)
    return head(x).flatten();                                           // (B,)
  }

  DiscriminatorOptions options;
  torch::nn::Conv2d down1{nullptr}, down2{nullptr}, head{nullptr};
  torch::nn::BatchNorm2d bn2{nullptr};
};
TORCH_MODULE(Discriminator);

/// DCGAN's initialisation, for module->apply(init_dcgan): every (transposed) convolution's weights
/// from N(0, 0.02), every batch norm's scale from N(1, 0.02) (its shift keeps its default, 0;
/// pytorch/examples sets it to 0 again). PyTorch's defaults
/// are larger; the paper found these small ones train more steadily.
/// Python: the weights_init function of pytorch/examples' dcgan, passed to model.apply
inline void init_dcgan(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  if (auto* conv = module.as<torch::nn::Conv2d>()) {
    torch::nn::init::normal_(conv->weight, /*mean=*/0.0, /*std=*/0.02);
  } else if (auto* up = module.as<torch::nn::ConvTranspose2d>()) {
    torch::nn::init::normal_(up->weight, /*mean=*/0.0, /*std=*/0.02);
  } else if (auto* norm = module.as<torch::nn::BatchNorm2d>()) {
    torch::nn::init::normal_(norm->weight, /*mean=*/1.0, /*std=*/0.02);
  }
}

}  // namespace course
