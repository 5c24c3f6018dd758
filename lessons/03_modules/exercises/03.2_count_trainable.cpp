// Exercise 03.2: how many numbers an optimizer would train.
//
// Write count_trainable(module): the total number of values (numel) in the module's parameters
// that require a gradient, its submodules' included. Frozen parameters (requires_grad false, as
// after fine-tuning freezes a layer) do not count.
// Python:  sum(p.numel() for p in module.parameters() if p.requires_grad)
//
// Check it: ./course check 03.2     A hint: ./course hint 03.2
#include <torch/torch.h>

int64_t count_trainable(const torch::nn::Module& module) {
  // TODO: replace this line with your code.
  return static_cast<int64_t>(module.parameters().size());
}
