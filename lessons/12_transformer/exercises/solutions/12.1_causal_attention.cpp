// Solution of exercise 12.1: scaled scores, the future masked with -inf, softmax, mix the values.
#include <torch/torch.h>

#include <cmath>
#include <limits>

torch::Tensor causal_attention(const torch::Tensor& q, const torch::Tensor& k,
                               const torch::Tensor& v) {
  const int64_t T = q.size(-2);
  const auto scores = torch::matmul(q, k.transpose(-2, -1)) /
                      std::sqrt(static_cast<double>(q.size(-1)));  // (B, H, T, T)
  const auto future = torch::ones({T, T}, q.options().dtype(torch::kBool)).triu(/*diagonal=*/1);
  const auto masked = scores.masked_fill(future, -std::numeric_limits<float>::infinity());
  return torch::matmul(torch::softmax(masked, /*dim=*/-1), v);  // (B, H, T, D)
}
