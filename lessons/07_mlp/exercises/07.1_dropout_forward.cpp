// Exercise 07.1: an MLP's forward pass, with dropout only while training.
//
// DropoutMlp holds two Linear layers, fc1 (in_features -> hidden) and fc2 (hidden -> classes),
// and a dropout probability p, registered for you. Write its forward(x): x is a batch of images
// (B, 1, H, W) or rows (B, in_features); flatten it to (B, in_features), then fc1, a ReLU,
// dropout, and fc2, which gives the logits (B, classes).
// Dropout must follow the module's mode: on after model->train() (it zeroes each hidden unit with
// chance p and scales the rest by 1 / (1 - p)), off after model->eval() (it does nothing there).
// A Module knows its mode: is_training().
// Python:  def forward(self, x):
//              x = torch.relu(self.fc1(x.flatten(1)))
//              return self.fc2(F.dropout(x, self.p, self.training))
//
// Check it: ./course check 07.1     A hint: ./course hint 07.1
#include <torch/torch.h>

struct DropoutMlpImpl : torch::nn::Module {
  DropoutMlpImpl(int64_t in_features, int64_t hidden, int64_t classes, double p_)
      : fc1(register_module("fc1", torch::nn::Linear(in_features, hidden))),
        fc2(register_module("fc2", torch::nn::Linear(hidden, classes))),
        p(p_) {}

  torch::Tensor forward(const torch::Tensor& x) {
    // TODO: replace this line with your code.
    return fc2(fc1(x.flatten(/*start_dim=*/1)));
  }

  torch::nn::Linear fc1, fc2;
  double p;  // the chance to zero a hidden unit while training
};
TORCH_MODULE(DropoutMlp);
