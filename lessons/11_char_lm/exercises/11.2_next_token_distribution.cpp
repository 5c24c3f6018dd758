// Exercise 11.2: the distribution a character is drawn from: temperature, top-k and greedy.
//
// Write next_token_probabilities(logits, temperature, top_k): logits (V) float, the model's score
// for every token to come next. Return (V) float probabilities that sum to 1:
//   - divide the logits by the temperature (below 1: safer, above 1: wilder);
//   - when 0 < top_k < V, keep only the tokens whose scaled logit is at least the k-th largest
//     (ties with the k-th are kept) and give the others probability 0 (set their logit to -inf);
//     top_k 0, or k >= V, keeps every token;
//   - softmax.
// Temperature 0 means greedy: probability 1 for the largest logit (the first one on a tie), 0 for
// every other token. Dividing by 0 is not the way there.
// Python:  scaled = logits / temperature
//          kth = scaled.topk(k)[0].min(); scaled = scaled.masked_fill(scaled < kth, float("-inf"))
//          return torch.softmax(scaled, 0)        (greedy: F.one_hot(logits.argmax(), V).float())
// This is what lesson 11's sample_next hands to torch::multinomial.
//
// Check it: ./course check 11.2     A hint: ./course hint 11.2
#include <torch/torch.h>

torch::Tensor next_token_probabilities(const torch::Tensor& logits, double temperature,
                                       int64_t top_k) {
  // TODO: replace this line with your code.
  return torch::softmax(logits, /*dim=*/0);
}
