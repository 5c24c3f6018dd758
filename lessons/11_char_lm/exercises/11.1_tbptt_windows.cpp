// Exercise 11.1: the text as parallel streams, cut into windows (truncated BPTT's batches).
//
// Write cut_into_windows(tokens, streams, window): tokens (N) int64, the whole text. Lay it out as
// B = streams rows side by side, each row a stretch of L = (N - 1) / B tokens: row b is tokens
// b*L .. b*L + L - 1, a (B, L) tensor. The targets are the same layout one token later (row b is
// tokens b*L + 1 .. b*L + L): the token to predict after each input. Then cut both into windows
// of `window` columns along dim 1, in order (the last window may be narrower). Return the input
// windows and the target windows, each a std::vector of (B, T) tensors.
// Why (N - 1) / B and not N / B: the very last input needs a token after it as its target.
// Python:  L = (len(tokens) - 1) // B
//          inputs = tokens[:B * L].view(B, L); targets = tokens[1:B * L + 1].view(B, L)
//          return inputs.split(T, 1), targets.split(T, 1)
//
// Check it: ./course check 11.1     A hint: ./course hint 11.1
#include <torch/torch.h>

#include <vector>

struct TextWindows {
  std::vector<torch::Tensor> inputs;   // each (B, T): the tokens the model reads
  std::vector<torch::Tensor> targets;  // each (B, T): the token after each of them
};

TextWindows cut_into_windows(const torch::Tensor& tokens, int64_t streams, int64_t window) {
  // TODO: replace this line with your code.
  return {tokens.view({1, -1}).split(window, 1), tokens.view({1, -1}).split(window, 1)};
}
