// Exercise 12.1: causal self-attention, written out.
//
// Write causal_attention(q, k, v): queries, keys and values, each (B, H, T, D) (batch, heads,
// positions, numbers per head). Return (B, H, T, D): position t mixes the values of positions
// 0..t, weighted by softmax over how well its query matches their keys:
//   scores  = q k^T / sqrt(D)                    (B, H, T, T)
//   masked  = scores with -inf above the diagonal (position t must not see t+1, t+2, ...)
//   out     = softmax(masked, dim=-1) v          (B, H, T, D)
// Do not call torch::scaled_dot_product_attention: the grader compares with it.
// Python:  scores = q @ k.transpose(-2, -1) / math.sqrt(D)
//          future = torch.ones(T, T, dtype=torch.bool).triu(1)
//          return torch.softmax(scores.masked_fill(future, float("-inf")), -1) @ v
//
// Check it: ./course check 12.1     A hint: ./course hint 12.1
#include <torch/torch.h>

torch::Tensor causal_attention(const torch::Tensor& q, const torch::Tensor& k,
                               const torch::Tensor& v) {
  // TODO: replace this line with your code.
  return v;
}
