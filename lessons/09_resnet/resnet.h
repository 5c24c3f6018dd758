// resnet.h: lesson 09's model, a small residual network for 28x28 gray images, in LibTorch's own
// idiom (options structs, BasicBlockImpl and ResNetImpl, TORCH_MODULE). Lesson 09 trains it; later
// lessons may include it as "09_resnet/resnet.h".
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace course {

// Dimension legend: B = batch, C = channels, H x W = image height x width.

/// The shape of one BasicBlock.
struct BasicBlockOptions {
  BasicBlockOptions(int64_t in_channels, int64_t out_channels)
      : in_channels_(in_channels), out_channels_(out_channels) {}
  TORCH_ARG(int64_t, in_channels);   ///< channels coming in
  TORCH_ARG(int64_t, out_channels);  ///< channels going out
  TORCH_ARG(int64_t, stride) = 1;    ///< 2 halves H and W (in the first conv and the shortcut)
};

/// The residual block of ResNet-18 and -34 ("basic block", He et al. 2015):
///   out = relu( bn2(conv2( relu(bn1(conv1(x))) )) + shortcut(x) )
/// The two 3x3 convs learn only a correction to x. The shortcut is x itself when the shape stays;
/// when the block changes the channels or the size, a 1x1 conv with the same stride (and a batch
/// norm) projects x to the new shape, so that the two can be added ("projection shortcut").
class BasicBlockImpl : public torch::nn::Module {
 public:
  BasicBlockImpl(int64_t in_channels, int64_t out_channels, int64_t stride = 1)
      : BasicBlockImpl(BasicBlockOptions(in_channels, out_channels).stride(stride)) {}
  explicit BasicBlockImpl(const BasicBlockOptions& options_) : options(options_) {
    namespace nn = torch::nn;
    const int64_t in = options.in_channels(), out = options.out_channels();
    // Python: nn.Conv2d(in, out, kernel_size=3, stride=stride, padding=1, bias=False)
    conv1 = register_module("conv1",
                            nn::Conv2d(nn::Conv2dOptions(in, out, /*kernel_size=*/3)
                                           .stride(options.stride())
                                           .padding(1)
                                           .bias(false)));  // the batch norm after it has the bias
    bn1 = register_module("bn1", nn::BatchNorm2d(out));
    conv2 = register_module(
        "conv2", nn::Conv2d(nn::Conv2dOptions(out, out, /*kernel_size=*/3).padding(1).bias(false)));
    bn2 = register_module("bn2", nn::BatchNorm2d(out));
    if (options.stride() != 1 || in != out) {  // the shape changes: project x
      // Python: nn.Sequential(nn.Conv2d(in, out, 1, stride=stride, bias=False),
      // nn.BatchNorm2d(out))
      shortcut = register_module(
          "shortcut", nn::Sequential(nn::Conv2d(nn::Conv2dOptions(in, out, /*kernel_size=*/1)
                                                    .stride(options.stride())
                                                    .bias(false)),
                                     nn::BatchNorm2d(out)));
    }
  }

  /// x (B, in, H, W) -> (B, out, H / stride, W / stride), rounded up.
  torch::Tensor forward(const torch::Tensor& x) {
    auto y = torch::relu(bn1(conv1(x)));  // (B, out, H', W')
    y = bn2(conv2(y));                    // (B, out, H', W')
    // An empty holder (nullptr) is the identity shortcut. Python: x if self.shortcut is None ...
    const auto skip = has_projection() ? shortcut->forward(x) : x;  // (B, out, H', W')
    return torch::relu(y + skip);
  }

  /// Whether the shortcut is a 1x1 projection (true) or x itself (false).
  bool has_projection() const { return !shortcut.is_empty(); }

  BasicBlockOptions options;
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr};
  torch::nn::Sequential shortcut{nullptr};  ///< empty: the identity
};
TORCH_MODULE(BasicBlock);

/// The widths and depth of a ResNet. The defaults are lesson 09's model.
struct ResNetOptions {
  TORCH_ARG(int64_t, in_channels) = 1;                        ///< 1 for gray images
  TORCH_ARG(int64_t, stem_channels) = 32;                     ///< the first conv's feature maps
  TORCH_ARG(std::vector<int64_t>, channels) = {32, 64, 128};  ///< one stage per entry
  TORCH_ARG(int64_t, blocks) = 2;                             ///< BasicBlocks per stage
  TORCH_ARG(int64_t, classes) = 10;                           ///< outputs (logits)
};

/// A stem, then stages of BasicBlocks, each stage starting with a stride-2 block that halves H
/// and W; then the mean over H x W and one linear layer:
///   (B, 1, 28, 28) -> stem: conv 3x3, batch norm, ReLU -> (B, stem, 28, 28)
///                  -> stage 1 (stride 2)               -> (B, channels[0], 14, 14)
///                  -> stage 2 (stride 2)               -> (B, channels[1], 7, 7)
///                  -> stage 3 (stride 2)               -> (B, channels[2], 4, 4)
///                  -> global average pool, flatten     -> (B, channels[2])
///                  -> linear                           -> (B, classes)
class ResNetImpl : public torch::nn::Module {
 public:
  explicit ResNetImpl(const ResNetOptions& options_ = {}) : options(options_) {
    namespace nn = torch::nn;
    TORCH_CHECK(!options.channels().empty() && options.blocks() >= 1,
                "ResNet needs at least one stage and one block per stage, got channels ",
                options.channels(), " and blocks ", options.blocks());
    stem_conv = register_module(
        "stem_conv", nn::Conv2d(nn::Conv2dOptions(options.in_channels(), options.stem_channels(),
                                                  /*kernel_size=*/3)
                                    .padding(1)
                                    .bias(false)));
    stem_bn = register_module("stem_bn", nn::BatchNorm2d(options.stem_channels()));
    // The blocks, stage after stage, in one Sequential (LibTorch's Sequential cannot hold
    // another Sequential, so there is no Sequential per stage): names blocks.0.conv1.weight, ...
    int64_t in = options.stem_channels();
    for (const int64_t out : options.channels()) {
      for (int64_t block = 0; block < options.blocks(); ++block) {
        // The stage's first block halves H and W and changes the channels; the others keep both.
        blocks->push_back(BasicBlock(in, out, /*stride=*/block == 0 ? 2 : 1));
        in = out;
      }
    }
    register_module("blocks", blocks);  // Python: self.blocks = nn.Sequential(*blocks)
    head = register_module("head", nn::Linear(in, options.classes()));
  }

  /// images (B, in_channels, H, W), normalised -> logits (B, classes).
  torch::Tensor forward(const torch::Tensor& images) {
    TORCH_CHECK(images.dim() == 4 && images.size(1) == options.in_channels(),
                "ResNet expects images (B, ", options.in_channels(), ", H, W), got ",
                images.sizes(), "; for (B, H, W) add the channel with images.unsqueeze(1)");
    auto x = torch::relu(stem_bn(stem_conv(images)));  // (B, stem, 28, 28)
    x = blocks->forward(x);                            // (B, channels.back(), 4, 4)
    x = x.mean({2, 3});  // global average pool: (B, channels.back()). Python: x.mean((2, 3))
    return head(x);      // (B, classes)
  }

  ResNetOptions options;
  torch::nn::Conv2d stem_conv{nullptr};
  torch::nn::BatchNorm2d stem_bn{nullptr};
  torch::nn::Sequential blocks;  ///< every BasicBlock, stage after stage
  torch::nn::Linear head{nullptr};
};
TORCH_MODULE(ResNet);

}  // namespace course
