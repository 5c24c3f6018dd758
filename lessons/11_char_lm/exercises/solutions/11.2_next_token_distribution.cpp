// Solution of exercise 11.2: greedy is a one-hot; otherwise scale, mask below the k-th, softmax.
#include <torch/torch.h>

#include <limits>

torch::Tensor next_token_probabilities(const torch::Tensor& logits, double temperature,
                                       int64_t top_k) {
  if (temperature == 0) {  // greedy: all the probability on the largest logit
    return torch::one_hot(logits.argmax(), logits.size(0)).to(logits.dtype());  // Python: F.one_hot
  }
  auto scaled = logits / temperature;  // (V)
  if (top_k > 0 && top_k < scaled.size(0)) {
    const auto kth = std::get<0>(scaled.topk(top_k)).min();  // the k-th largest scaled logit
    scaled = scaled.masked_fill(scaled < kth, -std::numeric_limits<float>::infinity());
  }
  return torch::softmax(scaled, /*dim=*/0);  // exp(-inf) = 0: the masked tokens get nothing
}
