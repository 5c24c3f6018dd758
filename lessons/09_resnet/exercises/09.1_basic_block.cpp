// Exercise 09.1: a residual block's forward, with a projection shortcut where the shape changes.
//
// BasicBlock holds, registered for you: conv1 (3x3, stride `stride`), bn1, conv2 (3x3), bn2, and
// `shortcut`, a 1x1 conv with the same stride followed by a batch norm. The shortcut is made only
// when the block changes the channels or the size (stride 2); otherwise it stays empty (nullptr)
// and x itself is added back. has_projection() says which. Write forward(x): x (B, in, H, W) ->
// (B, out, H', W'), H' = H / stride rounded up:
//   out = relu( bn2(conv2( relu(bn1(conv1(x))) )) + skip ),  skip = shortcut(x) or x
// Python:  def forward(self, x):
//              y = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
//              skip = x if self.shortcut is None else self.shortcut(x)
//              return torch.relu(y + skip)
//
// Check it: ./course check 09.1     A hint: ./course hint 09.1
#include <torch/torch.h>

struct BasicBlockImpl : torch::nn::Module {
  BasicBlockImpl(int64_t in, int64_t out, int64_t stride) {
    namespace nn = torch::nn;
    conv1 = register_module(
        "conv1", nn::Conv2d(nn::Conv2dOptions(in, out, 3).stride(stride).padding(1).bias(false)));
    bn1 = register_module("bn1", nn::BatchNorm2d(out));
    conv2 =
        register_module("conv2", nn::Conv2d(nn::Conv2dOptions(out, out, 3).padding(1).bias(false)));
    bn2 = register_module("bn2", nn::BatchNorm2d(out));
    if (stride != 1 || in != out) {  // the shape changes: project x to (B, out, H', W')
      shortcut = register_module(
          "shortcut",
          nn::Sequential(nn::Conv2d(nn::Conv2dOptions(in, out, 1).stride(stride).bias(false)),
                         nn::BatchNorm2d(out)));
    }
  }

  bool has_projection() const { return !shortcut.is_empty(); }

  torch::Tensor forward(const torch::Tensor& x) {
    // TODO: replace this line with your code.
    return torch::relu(bn1(conv1(x)));
  }

  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr};
  torch::nn::Sequential shortcut{nullptr};  // empty: the identity
};
TORCH_MODULE(BasicBlock);
