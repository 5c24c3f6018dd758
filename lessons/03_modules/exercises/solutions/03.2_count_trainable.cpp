// Solution of exercise 03.2: parameters() walks every submodule; keep those that require grad.
#include <torch/torch.h>

int64_t count_trainable(const torch::nn::Module& module) {
  int64_t total = 0;
  for (const auto& parameter : module.parameters()) {
    if (parameter.requires_grad()) total += parameter.numel();
  }
  return total;
}
