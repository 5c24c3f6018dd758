// Exercise 03.1: the forward pass of a residual block.
//
// ResidualBlock holds two Linear(features, features) layers, fc1 and fc2, registered for you.
// Write its forward(x): x (B, features) -> (B, features), the input plus what the two layers make
// of it, with a ReLU between them:  x + fc2(relu(fc1(x))).
// Python:  def forward(self, x): return x + self.fc2(torch.relu(self.fc1(x)))
//
// Check it: ./course check 03.1     A hint: ./course hint 03.1
#include <torch/torch.h>

struct ResidualBlockImpl : torch::nn::Module {
  explicit ResidualBlockImpl(int64_t features)
      : fc1(register_module("fc1", torch::nn::Linear(features, features))),
        fc2(register_module("fc2", torch::nn::Linear(features, features))) {}

  torch::Tensor forward(const torch::Tensor& x) {
    // TODO: replace this line with your code.
    return fc1(x);
  }

  torch::nn::Linear fc1, fc2;
};
TORCH_MODULE(ResidualBlock);
