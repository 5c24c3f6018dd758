// Solution of exercise 11.1: B rows of L tokens, the targets one token later, split into windows.
#include <torch/torch.h>

#include <vector>

struct TextWindows {
  std::vector<torch::Tensor> inputs;   // each (B, T): the tokens the model reads
  std::vector<torch::Tensor> targets;  // each (B, T): the token after each of them
};

TextWindows cut_into_windows(const torch::Tensor& tokens, int64_t streams, int64_t window) {
  const int64_t length = (tokens.size(0) - 1) / streams;  // L: the last input needs a target
  const auto inputs = tokens.slice(0, 0, streams * length).view({streams, length});  // (B, L)
  const auto targets = tokens.slice(0, 1, streams * length + 1).view({streams, length});
  return {inputs.split(window, /*dim=*/1), targets.split(window, /*dim=*/1)};
}
