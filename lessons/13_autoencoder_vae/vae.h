// vae.h: lesson 13's models for 28x28 gray images, in LibTorch's own idiom (an options struct,
// XImpl, TORCH_MODULE): a convolutional encoder and decoder, a plain autoencoder built from them,
// and a variational autoencoder (VAE) whose encoder gives a mean and a log-variance per image.
// Later lessons may include it as "13_autoencoder_vae/vae.h".
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace course {

// Dimension legend: B = batch, C1 x C2 = feature maps of the two convs, L = latent dimensions.

/// The sizes of an autoencoder; ConvAutoencoder and Vae share them.
struct AutoencoderOptions {
  TORCH_ARG(int64_t, latent) = 2;      ///< L: numbers per image in the code (2: it can be drawn)
  TORCH_ARG(int64_t, channels1) = 32;  ///< C1: feature maps at 14x14
  TORCH_ARG(int64_t, channels2) = 64;  ///< C2: feature maps at 7x7
};

/// (B, 1, 28, 28) pixels in [0, 1] -> conv 4x4 stride 2 -> ReLU -> (B, C1, 14, 14)
///                                  -> conv 4x4 stride 2 -> ReLU -> (B, C2, 7, 7) -> (B, C2 * 49)
class ConvEncoderImpl : public torch::nn::Module {
 public:
  explicit ConvEncoderImpl(const AutoencoderOptions& options) {
    namespace nn = torch::nn;
    // Python: nn.Conv2d(1, 32, kernel_size=4, stride=2, padding=1): each conv halves H and W.
    conv1 = register_module(
        "conv1",
        nn::Conv2d(
            nn::Conv2dOptions(1, options.channels1(), /*kernel_size=*/4).stride(2).padding(1)));
    conv2 = register_module(
        "conv2",
        nn::Conv2d(nn::Conv2dOptions(options.channels1(), options.channels2(), /*kernel_size=*/4)
                       .stride(2)
                       .padding(1)));
  }

  /// images (B, 1, 28, 28) -> features (B, C2 * 49).
  torch::Tensor forward(const torch::Tensor& images) {
    TORCH_CHECK(
        images.dim() == 4 && images.size(1) == 1 && images.size(2) == 28 && images.size(3) == 28,
        "the encoder expects images (B, 1, 28, 28), got ", images.sizes(),
        "; for (B, 28, 28) add the channel with images.unsqueeze(1)");
    auto x = torch::relu(conv1(images));  // (B, C1, 14, 14)
    x = torch::relu(conv2(x));            // (B, C2, 7, 7)
    return x.flatten(/*start_dim=*/1);    // (B, C2 * 49)
  }

  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
};
TORCH_MODULE(ConvEncoder);

/// The encoder backwards: (B, L) -> linear -> ReLU -> (B, C2, 7, 7)
///   -> transposed conv 4x4 stride 2 -> ReLU -> (B, C1, 14, 14)
///   -> transposed conv 4x4 stride 2 -> (B, 1, 28, 28) logits; sigmoid(logits) are the pixels.
class ConvDecoderImpl : public torch::nn::Module {
 public:
  explicit ConvDecoderImpl(const AutoencoderOptions& options) : channels2(options.channels2()) {
    namespace nn = torch::nn;
    fc = register_module("fc", nn::Linear(options.latent(), channels2 * 7 * 7));
    // Python: nn.ConvTranspose2d(64, 32, kernel_size=4, stride=2, padding=1): doubles H and W.
    deconv1 = register_module(
        "deconv1", nn::ConvTranspose2d(
                       nn::ConvTranspose2dOptions(channels2, options.channels1(), /*kernel_size=*/4)
                           .stride(2)
                           .padding(1)));
    deconv2 = register_module(
        "deconv2",
        nn::ConvTranspose2d(nn::ConvTranspose2dOptions(options.channels1(), 1, /*kernel_size=*/4)
                                .stride(2)
                                .padding(1)));
  }

  /// codes (B, L) -> logits (B, 1, 28, 28).
  torch::Tensor forward(const torch::Tensor& z) {
    auto x = torch::relu(fc(z)).view({-1, channels2, 7, 7});  // (B, C2, 7, 7)
    x = torch::relu(deconv1(x));                              // (B, C1, 14, 14)
    return deconv2(x);                                        // (B, 1, 28, 28)
  }

  int64_t channels2;
  torch::nn::Linear fc{nullptr};
  torch::nn::ConvTranspose2d deconv1{nullptr}, deconv2{nullptr};
};
TORCH_MODULE(ConvDecoder);

/// A plain autoencoder: image -> one code z (B, L) -> image. Trained only to reconstruct, so
/// nothing says where in the latent space the codes go, or what lies between them.
class ConvAutoencoderImpl : public torch::nn::Module {
 public:
  explicit ConvAutoencoderImpl(const AutoencoderOptions& options_ = {}) : options(options_) {
    encoder = register_module("encoder", ConvEncoder(options));
    to_latent = register_module("to_latent",
                                torch::nn::Linear(options.channels2() * 7 * 7, options.latent()));
    decoder = register_module("decoder", ConvDecoder(options));
  }

  /// images (B, 1, 28, 28) -> codes (B, L).
  torch::Tensor encode(const torch::Tensor& images) { return to_latent(encoder(images)); }
  /// images (B, 1, 28, 28) -> logits of the reconstruction (B, 1, 28, 28).
  torch::Tensor forward(const torch::Tensor& images) { return decoder(encode(images)); }

  AutoencoderOptions options;
  ConvEncoder encoder{nullptr};
  torch::nn::Linear to_latent{nullptr};
  ConvDecoder decoder{nullptr};
};
TORCH_MODULE(ConvAutoencoder);

/// The reparameterisation trick: a sample z ~ N(mean, exp(logvar)) written as
/// z = mean + std * noise with noise ~ N(0, 1) drawn outside the graph, so the gradient flows
/// to mean and logvar (dz/dmean = 1, dz/dlogvar = 0.5 * std * noise). All (B, L).
inline torch::Tensor reparameterize(const torch::Tensor& mean, const torch::Tensor& logvar,
                                    const torch::Tensor& noise) {
  const auto std = torch::exp(0.5 * logvar);  // Python: std = torch.exp(0.5 * logvar)
  return mean + std * noise;
}

/// What a Vae computes for a batch.
struct VaeOutput {
  torch::Tensor logits;  ///< (B, 1, 28, 28) the decoded sample; sigmoid gives pixels
  torch::Tensor mean;    ///< (B, L) the encoder's mean of q(z | image)
  torch::Tensor logvar;  ///< (B, L) its log-variance: log sigma^2, any real number
  torch::Tensor z;       ///< (B, L) the sample that was decoded
};

/// A variational autoencoder: the encoder gives a distribution q(z | image) = N(mean, sigma^2),
/// a sample of it is decoded, and the KL term of the loss pulls q toward the prior N(0, 1).
class VaeImpl : public torch::nn::Module {
 public:
  explicit VaeImpl(const AutoencoderOptions& options_ = {}) : options(options_) {
    encoder = register_module("encoder", ConvEncoder(options));
    const int64_t features = options.channels2() * 7 * 7;
    to_mean = register_module("to_mean", torch::nn::Linear(features, options.latent()));
    to_logvar = register_module("to_logvar", torch::nn::Linear(features, options.latent()));
    decoder = register_module("decoder", ConvDecoder(options));
  }

  /// images (B, 1, 28, 28) -> mean and log-variance, each (B, L).
  std::pair<torch::Tensor, torch::Tensor> encode(const torch::Tensor& images) {
    const auto features = encoder(images);  // (B, C2 * 49)
    return {to_mean(features), to_logvar(features)};
  }

  /// codes (B, L) -> logits (B, 1, 28, 28).
  torch::Tensor decode(const torch::Tensor& z) { return decoder(z); }

  /// Encodes, samples z with the reparameterisation trick and decodes. `noise` (B, L) is drawn
  /// from N(0, 1) when not given; tests pass their own to get the same sample as Python.
  VaeOutput forward(const torch::Tensor& images, torch::Tensor noise = {}) {
    auto [mean, logvar] = encode(images);                   // (B, L) each
    if (!noise.defined()) noise = torch::randn_like(mean);  // Python: torch.randn_like(mean)
    const auto z = reparameterize(mean, logvar, noise);     // (B, L)
    return {decode(z), mean, logvar, z};
  }

  AutoencoderOptions options;
  ConvEncoder encoder{nullptr};
  torch::nn::Linear to_mean{nullptr}, to_logvar{nullptr};
  ConvDecoder decoder{nullptr};
};
TORCH_MODULE(Vae);

}  // namespace course
