// Solution of exercise 07.1: torch::dropout's third argument is the module's mode.
#include <torch/torch.h>

struct DropoutMlpImpl : torch::nn::Module {
  DropoutMlpImpl(int64_t in_features, int64_t hidden, int64_t classes, double p_)
      : fc1(register_module("fc1", torch::nn::Linear(in_features, hidden))),
        fc2(register_module("fc2", torch::nn::Linear(hidden, classes))),
        p(p_) {}

  torch::Tensor forward(const torch::Tensor& x) {
    auto h = torch::relu(fc1(x.flatten(/*start_dim=*/1)));    // (B, hidden)
    h = torch::dropout(h, /*p=*/p, /*train=*/is_training());  // nothing in eval() mode
    return fc2(h);                                            // (B, classes)
  }

  torch::nn::Linear fc1, fc2;
  double p;  // the chance to zero a hidden unit while training
};
TORCH_MODULE(DropoutMlp);
